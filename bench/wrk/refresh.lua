-- wrk script: refresh-token grant with rotation.  Every refresh token is
-- used exactly once (reuse revokes the whole family): each thread keeps a
-- queue seeded from WRK_LINES (its share) and pushes the refresh_token of
-- every answer back.  Env: WRK_LINES, WRK_THREADS, WRK_BASIC (already
-- base64: "Basic ..." value without the word), WRK_CLOSE=1.
local tid_counter = 0
function setup(thread)
  thread:set("tid", tid_counter)
  tid_counter = tid_counter + 1
end

local q, head, tail = {}, 1, 0
function init(args)
  local T = tonumber(os.getenv("WRK_THREADS") or "2")
  local i = 0
  for l in io.lines(os.getenv("WRK_LINES")) do
    if i % T == tid then tail = tail + 1; q[tail] = l end
    i = i + 1
  end
  hdrs = { ["Content-Type"] = "application/x-www-form-urlencoded",
           ["Authorization"] = "Basic " .. os.getenv("WRK_BASIC") }
  if os.getenv("WRK_CLOSE") == "1" then hdrs["Connection"] = "close" end
  starved = 0
end

function request()
  local t
  if head <= tail then
    t = q[head]; q[head] = nil; head = head + 1
  else
    t = "starved"; starved = starved + 1   -- answered 400: non-2xx
  end
  return wrk.format("POST", nil, hdrs, "grant_type=refresh_token&refresh_token=" .. t)
end

function response(status, headers, body)
  if status == 200 then
    local rt = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if rt then tail = tail + 1; q[tail] = rt end
  end
end

function done(summary, latency, requests)
  local s = summary
  local secs = s.duration / 1e6
  io.write(string.format("RESULT requests=%d secs=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d sockerr=%d\n",
    s.requests, secs, s.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    s.errors.status, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout))
end
