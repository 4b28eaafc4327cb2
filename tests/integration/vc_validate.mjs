// Validate verified_claims output (JSON objects of claims, one per line on
// stdin) against the Identity Assurance JSON schema (tests/schema/).
// Exit 0 when every object validates; errors on stderr otherwise.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "interop", "package.json"));
const Ajv = require("ajv");

const schema = JSON.parse(readFileSync(join(here, "..", "schema",
  "verified_claims.json"), "utf8"));
// the published patterns use escapes (\:) that only non-Unicode RegExps accept
const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false,
  validateFormats: false });
// only _claim_names (distributed claims) uses it; we never send those
ajv.addSchema({ $id: "https://openid.net/schemas/verified_claims_request-12.json",
  definitions: { verified_claims_def: { type: "object" } } });
const validate = ajv.compile(schema);
const lines = readFileSync(0, "utf8").split("\n").filter((l) => l.trim());
let bad = 0;
for (const l of lines) {
  const o = JSON.parse(l);
  if (!("verified_claims" in o)) {
    console.error("no verified_claims in", l);
    bad++;
  } else if (!validate(o)) {
    console.error(JSON.stringify(validate.errors));
    bad++;
  }
}
process.exit(bad ? 1 : 0);
