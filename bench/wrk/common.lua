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

-- The shard of an already lower-cased key among `count`: FNV-1a 32 over its bytes, murmur3's
-- fmix32, hash range (mirrors shardOf in src/core/routing.ts; the atomic-guard prefix is not
-- handled: callers pass plain keys). LuaJIT's bit library works on signed 32-bit numbers.
local function imul(a, b)
  local alo, ahi = bit.band(a, 0xffff), bit.rshift(a, 16)
  local blo, bhi = bit.band(b, 0xffff), bit.rshift(b, 16)
  return bit.tobit(alo * blo + ((ahi * blo + alo * bhi) % 65536) * 65536)
end
function M.shard_of(key, count)
  local h = bit.tobit(0x811c9dc5)
  for i = 1, #key do h = imul(bit.bxor(h, key:byte(i)), 0x01000193) end
  h = bit.bxor(h, bit.rshift(h, 16))
  h = imul(h, bit.tobit(0x85ebca6b))
  h = bit.bxor(h, bit.rshift(h, 13))
  h = imul(h, bit.tobit(0xc2b2ae35))
  h = bit.bxor(h, bit.rshift(h, 16))
  if h < 0 then h = h + 4294967296 end
  return math.floor(h * count / 4294967296)
end

-- Two fresh keys on different shards: <unique key>-a and <unique key>-b<i>.
function M.pair_on_two_shards(prefix, n, count)
  local base = M.unique_key(prefix, n)
  local a = base .. "-a"
  local sa = M.shard_of(a, count)
  local i = 0
  while count > 1 and M.shard_of(base .. "-b" .. i, count) == sa do i = i + 1 end
  return a, base .. "-b" .. i
end

-- A random request id (raft-request-id), as the official client sends with a cluster transaction.
function M.request_id()
  return string.format("%08x-%04x-4%03x-a%03x-%06x%06x", math.random(0, 0x7fffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), math.random(0, 0xfff), math.random(0, 0xffffff), math.random(0, 0xffffff))
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
