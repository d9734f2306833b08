-- (d) get of existing keys, etcd (v3 JSON gateway): POST /v3/kv/range {"key": base64("<prefix>-<i>")},
-- i uniform in [0, count). An answer without "kvs" (missing key) counts as miss.
-- args: <unused> <key prefix> <count>
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

function setup(thread) common.setup(thread) end

function init(args)
  common.init_counters()
  prefix = args[2] or "set"
  count = tonumber(args[3] or "1000")
  math.randomseed(os.time() * 1000 + tid * 7919)
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  local key = common.base64(prefix .. "-" .. math.random(0, count - 1))
  return wrk.format("POST", "/v3/kv/range", headers, '{"key":"' .. key .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    if not string.find(body, '"kvs"', 1, true) then miss = miss + 1 end
  else
    common.other(status, body)
  end
end

function done(summary, latency, requests) common.done(summary, latency, requests) end
