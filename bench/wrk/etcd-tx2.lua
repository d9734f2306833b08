-- (e) and (f) for etcd (v3 JSON gateway): one txn creating two fresh keys,
--   POST /v3/kv/txn  compare create_revision(a) == 0 and create_revision(b) == 0, then put both.
-- mode "pair": the keys of (e) (<unique>-a, <unique>-b<i>); mode "session": the keys of (f)
-- (users/<unique> with the document as value, rvn-atomic/users/<unique> with a guard value).
-- Counts 200 answers with "succeeded":true (ok) and without (notok, a key collision).
-- args: <unused> <key prefix> <mode>
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

function setup(thread) common.setup(thread) end

function init(args)
  common.init_counters()
  prefix = args[2] or "c"
  mode = args[3] or "pair"
  math.randomseed(os.time() * 1000 + tid * 7919)
  n = 0
  headers = { ["Content-Type"] = "application/json" }
end

local function create(key) return '{"key":"' .. key .. '","target":"CREATE","result":"EQUAL","create_revision":"0"}' end
local function put(key, value) return '{"request_put":{"key":"' .. key .. '","value":"' .. common.base64(value) .. '"}}' end

function request()
  n = n + 1
  local a, b, va, vb
  if mode == "session" then
    a = "users/" .. common.unique_key(prefix, n)
    b = "rvn-atomic/" .. a
    va = common.value(n):sub(1, -2) .. ',"@metadata":{"@collection":"Users"}}'
    vb = '{"Object":null}'
  else
    a, b = common.pair_on_two_shards(prefix, n, 16)
    va, vb = common.value(n), common.value(n)
  end
  a, b = common.base64(a), common.base64(b)
  local body = '{"compare":[' .. create(a) .. ',' .. create(b) .. '],"success":[' .. put(a, va) .. ',' .. put(b, vb) .. ']}'
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
