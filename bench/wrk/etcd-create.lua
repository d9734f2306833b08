-- (a) create-if-absent on random unique keys, etcd (v3 JSON gateway):
--   POST /v3/kv/txn  compare create_revision(key) == 0, then put(key, <value>)
-- Keys and the value are the same strings as for our service (base64 on the wire).
-- Counts 200 answers with "succeeded":true (ok) and without (notok, i.e. a key collision).
-- args: <unused> <key prefix>
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

function setup(thread) common.setup(thread) end

function init(args)
  common.init_counters()
  prefix = args[2] or "c"
  math.randomseed(os.time() * 1000 + tid * 7919)
  n = 0
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  n = n + 1
  local key = common.base64(common.unique_key(prefix, n))
  local body = '{"compare":[{"key":"' .. key .. '","target":"CREATE","result":"EQUAL","create_revision":"0"}],' ..
    '"success":[{"request_put":{"key":"' .. key .. '","value":"' .. common.base64(common.value(n)) .. '"}}]}'
  return wrk.format("POST", "/v3/kv/txn", headers, body)
end

function response(status, headers, body)
  if status == 200 then
    if string.find(body, '"succeeded":true', 1, true) then ok = ok + 1 else notok = notok + 1 end
  else
    common.other(status, body)
  end
end

function done(summary, latency, requests) common.done(summary, latency, requests) end
