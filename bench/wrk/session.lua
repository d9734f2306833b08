-- (f) a cluster-wide session storing one new document, our service: what the official client
-- (7.x, atomic guards on) sends for session.store(doc) + saveChanges() — the document and, added by
-- the server, its atomic guard rvn-atomic/<id>, which lives on the document's shard:
--   POST /databases/<db>/bulk_docs?raft-request-id=<uuid>   Raven-Client-Version: 7.2.2
--   {"Commands":[{"Id":"users/<unique>","ChangeVector":null,"Type":"PUT",
--                 "Document":{"n":…,"by":…,"pad":…,"@metadata":{"@collection":"Users"}}}],
--    "TransactionMode":"ClusterWide"}
-- Counts 201 answers (ok) and 409 (notok, an id collision).
-- args: <db> <key prefix>
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

function setup(thread) common.setup(thread) end

function init(args)
  common.init_counters()
  db = args[1] or "bench"
  prefix = args[2] or "c"
  math.randomseed(os.time() * 1000 + tid * 7919)
  n = 0
  headers = { ["Content-Type"] = "application/json", ["Raven-Client-Version"] = "7.2.2" }
end

function request()
  n = n + 1
  local id = "users/" .. common.unique_key(prefix, n)
  local doc = common.value(n):sub(1, -2) .. ',"@metadata":{"@collection":"Users"}}'
  local body = '{"Commands":[{"Id":"' .. id .. '","ChangeVector":null,"Type":"PUT","Document":' .. doc .. '}],"TransactionMode":"ClusterWide"}'
  return wrk.format("POST", "/databases/" .. db .. "/bulk_docs?raft-request-id=" .. common.request_id(), headers, body)
end

function response(status, headers, body)
  if status == 201 then ok = ok + 1
  elseif status == 409 then notok = notok + 1
  else common.other(status, body, 500) end
end

function done(summary, latency, requests) common.done(summary, latency, requests) end
