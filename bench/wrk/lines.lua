-- wrk script: one request per line of a file, each line used once (client
-- assertions for private_key_jwt: the broker refuses a replayed jti).
-- Env: WRK_LINES (file), WRK_THREADS (wrk -t), WRK_PREFIX (body before the
--      line), WRK_CLOSE=1.  Thread k takes lines k, k+T, k+2T, ...; when its
--      share runs out it reuses lines (answers then 401: counted as non-2xx).
local tid_counter = 0
function setup(thread)
  thread:set("tid", tid_counter)
  tid_counter = tid_counter + 1
end

local lines, pos = {}, 0
function init(args)
  local T = tonumber(os.getenv("WRK_THREADS") or "2")
  local i = 0
  for l in io.lines(os.getenv("WRK_LINES")) do
    if i % T == tid then lines[#lines + 1] = l end
    i = i + 1
  end
  prefix = os.getenv("WRK_PREFIX") or ""
  hdrs = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  if os.getenv("WRK_CLOSE") == "1" then hdrs["Connection"] = "close" end
end

function request()
  pos = pos + 1
  if pos > #lines then pos = 1 end
  return wrk.format("POST", nil, hdrs, prefix .. lines[pos])
end

function done(summary, latency, requests)
  local s = summary
  local secs = s.duration / 1e6
  io.write(string.format("RESULT requests=%d secs=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d sockerr=%d\n",
    s.requests, secs, s.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    s.errors.status, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout))
end
