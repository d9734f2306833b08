-- (d) GET of existing keys, our service: GET /databases/<db>/cmpxchg?key=<prefix>-<i>, i uniform in [0, count).
-- A 404 (missing key) is counted by wrk as a status error and would mean the pre-created set is
-- incomplete. args: <db> <key prefix> <count>
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

function setup(thread) common.setup(thread) end

function init(args)
  common.init_counters()
  db = args[1] or "bench"
  prefix = args[2] or "set"
  count = tonumber(args[3] or "1000")
  math.randomseed(os.time() * 1000 + tid * 7919)
end

function request()
  local key = prefix .. "-" .. math.random(0, count - 1)
  return wrk.format("GET", "/databases/" .. db .. "/cmpxchg?key=" .. key)
end

function done(summary, latency, requests) common.done(summary, latency, requests) end
