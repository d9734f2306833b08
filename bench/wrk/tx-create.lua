-- (e) two-key atomic create on different shards, our service: a cluster-wide bulk_docs with two
-- CompareExchangePUT at index 0 on fresh keys that route to different shards (two-phase commit):
--   POST /databases/<db>/bulk_docs?raft-request-id=<uuid>
--   {"Commands":[{"Type":"CompareExchangePUT","Id":<a>,"Index":0,"Document":{"Object":<value>}},
--                {… <b> …}],"TransactionMode":"ClusterWide"}
-- Counts 201 answers (ok) and 409 (notok, a key collision).
-- args: <db> <key prefix> <SHARD_COUNT of the server>
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

function setup(thread) common.setup(thread) end

function init(args)
  common.init_counters()
  db = args[1] or "bench"
  prefix = args[2] or "c"
  shards = tonumber(args[3] or "16")
  math.randomseed(os.time() * 1000 + tid * 7919)
  n = 0
  headers = { ["Content-Type"] = "application/json" }
end

local function put(key, n)
  return '{"Type":"CompareExchangePUT","Id":"' .. key .. '","Index":0,"Document":{"Object":' .. common.value(n) .. '}}'
end

function request()
  n = n + 1
  local a, b = common.pair_on_two_shards(prefix, n, shards)
  local body = '{"Commands":[' .. put(a, n) .. ',' .. put(b, n) .. '],"TransactionMode":"ClusterWide"}'
  return wrk.format("POST", "/databases/" .. db .. "/bulk_docs?raft-request-id=" .. common.request_id(), headers, body)
end

function response(status, headers, body)
  if status == 201 then ok = ok + 1
  elseif status == 409 then notok = notok + 1
  else common.other(status, body, 500) end
end

function done(summary, latency, requests) common.done(summary, latency, requests) end
