-- Shared by the wrk scripts in bench/wrk: per-thread counters and one JSON summary line.
-- Loaded with dofile() from the directory of the calling script.
local M = {}
local threads = {}

-- Call from the script's setup(): numbers the threads and remembers them for done().
function M.setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- Counters a script's response() may bump; summed over threads in done().
M.counters = { "ok", "notok", "miss", "other" }

function M.init_counters()
  for _, name in ipairs(M.counters) do _G[name] = 0 end
end

-- The stored value, the same size for every system and every n < 10^8 (bench/lib/workloads.mjs
-- valueOf builds the same string): {"n":"00000042","by":"bench","pad":"0123456789abcdef"}
function M.value(n)
  return string.format('{"n":"%08d","by":"bench","pad":"0123456789abcdef"}', n)
end

-- A key no other request of this run uses: <prefix>-<random hex>-<thread>-<n> (the same shape for
-- every system; bench/lib/workloads.mjs createKey builds it for the in-Node generator).
function M.unique_key(prefix, n)
  return string.format("%s-%08x%08x-%d-%d", prefix, math.random(0, 0x7fffffff), math.random(0, 0x7fffffff), tid, n)
end

-- Counts an answer that was not a 200 and keeps the first one with a status >= min_status as
-- `sample` (shown in the report).
function M.other(status, body, min_status)
  other = other + 1
  if status >= (min_status or 0) and sample == nil then sample = status .. " " .. string.sub(body or "", 1, 300) end
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
-- Standard base64 with padding (etcd's JSON gateway carries keys and values as base64 bytes).
function M.base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1, c2 = math.floor(n / 262144) % 64, math.floor(n / 4096) % 64
    local c3, c4 = math.floor(n / 64) % 64, n % 64
    out[#out + 1] = B64:sub(c1 + 1, c1 + 1) .. B64:sub(c2 + 1, c2 + 1) ..
      (b and B64:sub(c3 + 1, c3 + 1) or "=") .. (c and B64:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

-- JSON string literal of s (quotes, backslashes and control characters escaped).
local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

-- Prints "BENCHJSON {...}" for bench/run.mjs to parse. Latencies in microseconds.
-- `sample` (a thread global, set by M.other) is the first sampled non-200 answer "<status> <body>", if any.
function M.done(summary, latency, requests)
  local sample = "null"
  for _, t in ipairs(threads) do
    local s = t:get("sample")
    if s ~= nil and sample == "null" then sample = json_string(s) end
  end
  local sums = {}
  for _, name in ipairs(M.counters) do
    sums[name] = 0
    for _, t in ipairs(threads) do sums[name] = sums[name] + (t:get(name) or 0) end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d},' ..
    '"ok":%d,"notok":%d,"miss":%d,"other":%d,"sample":%s}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max,
    sums.ok, sums.notok, sums.miss, sums.other, sample))
end

return M
