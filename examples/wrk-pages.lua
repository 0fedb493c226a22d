-- wrk-pages.lua - the demo's HTTP load (examples/demo.sh): each request asks
-- a random one of the pages the demo stored in the KV service, so that nginx
-- reads a different key each time, optionally pausing between requests.
--
-- Why a pause: wrk is a closed loop (each connection sends its next request
-- when the last answer came), so a "low" phase needs a pause to be low; a
-- connection's rate is then at most 1000/DELAY_MS requests per second.
--
--   wrk -s wrk-pages.lua URL -- NPAGES DELAY_MS
local npages, pause = 1, 0

function init(args)
	npages = tonumber(args[1]) or 1
	pause = tonumber(args[2]) or 0
	math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
	return wrk.format("GET", "/page/" .. math.random(0, npages - 1))
end

function delay()
	return pause
end
