-- wrk script for scripts/bench/bench.py
--
--   wrk ... -s wrk.lua URL -- METHOD PATHS_FILE [BODY_BYTES [HEADER ...]]
--
-- Every connection cycles through the request targets listed in
-- PATHS_FILE (one "/path?query" a line), each thread starting at its own
-- offset so that threads do not walk the list in step.  A body of
-- BODY_BYTES bytes is sent with every request (PUT); HEADER arguments are
-- "Name: value".  The requests are formatted once, in init(), so that the
-- client spends its time on the network and not in Lua.  done() prints
-- one line "BENCHJSON {...}" that bench.py parses.

local requests = {}
local n = 0
local i = 0

local counter = 0
local threads = {}


function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
    table.insert(threads, thread)
end


function init(args)
    local method = args[1]
    local file = args[2]
    local size = tonumber(args[3] or "0")
    local headers = {}
    local body = nil

    for k = 4, #args do
        local name, value = args[k]:match("^([^:]+):%s*(.*)$")
        headers[name] = value
    end

    if size > 0 then
        -- not all one byte, so nothing on the way can compress it away
        local chunk = string.rep("0123456789abcdef", 256)
        body = string.rep(chunk, math.ceil(size / #chunk)):sub(1, size)
    end

    for line in io.lines(file) do
        if #line > 0 then
            n = n + 1
            requests[n] = wrk.format(method, line, headers, body)
        end
    end

    i = (id * 7919) % n
end


function request()
    i = i + 1
    if i > n then
        i = 1
    end
    return requests[i]
end


function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'BENCHJSON {"requests": %d, "bytes": %d, "duration_us": %d, '
        .. '"connect": %d, "read": %d, "write": %d, "status": %d, '
        .. '"timeout": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, '
        .. '"max_us": %d}\n',
        summary.requests, summary.bytes, summary.duration,
        e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(99), latency.mean,
        latency.max))
end
