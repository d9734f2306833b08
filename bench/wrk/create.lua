-- (a) create-if-absent on random unique keys, our service:
--   PUT /databases/<db>/cmpxchg?key=<prefix>-<random hex>-<thread>-<n>&index=0  {"Object":<value>}
-- Counts 200 answers with "Successful":true (ok) and false (notok, i.e. a key collision).
-- args: <db> <key prefix> [raft-request-id]: with the third, each request carries
-- &raft-request-id=<uuid>, as the official client's PUT does (workload createrid).
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

function setup(thread) common.setup(thread) end

function init(args)
  common.init_counters()
  db = args[1] or "bench"
  prefix = args[2] or "c"
  math.randomseed(os.time() * 1000 + tid * 7919)
  n = 0
  with_request_id = args[3] == "raft-request-id"
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  n = n + 1
  local key = common.unique_key(prefix, n)
  local body = '{"Object":' .. common.value(n) .. '}'
  local path = "/databases/" .. db .. "/cmpxchg?key=" .. key .. "&index=0"
  if with_request_id then path = path .. "&raft-request-id=" .. common.request_id() end
  return wrk.format("PUT", path, headers, body)
end

function response(status, headers, body)
  if status == 200 then
    if string.find(body, '"Successful":true', 1, true) then ok = ok + 1 else notok = notok + 1 end
  else
    common.other(status, body, 500)
  end
end

function done(summary, latency, requests) common.done(summary, latency, requests) end
