-- ARGV: prefix, grace, entries kept, then the entries (JSON without their ids), oldest
-- first: each gets the next id, and the log lists the newest first. One call writes a
-- batch (`redis_log`). The log lives as long as the sandbox's state; a sandbox deleted or
-- expired while its requests were answered logs nothing more (its keys are already gone).
local ends = redis.call('PEXPIRETIME', P .. 'sbx')  -- -2: no such key, -1: no expiry
if ends == -2 then return 0 end
local key = P .. 'log'
local count = #ARGV - 3
local last = redis.call('INCRBY', key .. ':seq', count)
local entries = {}
for i = 1, count do entries[i] = fmt(last - count + i) .. ' ' .. ARGV[3 + i] end
redis.call('LPUSH', key, unpack(entries))
redis.call('LTRIM', key, 0, tonumber(ARGV[3]) - 1)
if ends > 0 then
  redis.call('PEXPIREAT', key, ends)
  redis.call('PEXPIREAT', key .. ':seq', ends)
end
return last
