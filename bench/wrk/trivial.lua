-- Baseline: GET /cluster/node-info (a constant Hono route, no Durable Object, no storage).
-- Non-2xx answers are counted by wrk itself (errors.status).
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

function setup(thread) common.setup(thread) end
function init(args) common.init_counters() end
function done(summary, latency, requests) common.done(summary, latency, requests) end
-- Default request: wrk's URL path, GET.
