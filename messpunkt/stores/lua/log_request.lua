-- ARGV: prefix, grace, entries kept, the entry (JSON without its id).
-- The newest first; the log lives as long as the sandbox's state.
local key = P .. 'log'
local id = redis.call('INCR', key .. ':seq')
redis.call('LPUSH', key, id .. ' ' .. ARGV[4])
redis.call('LTRIM', key, 0, tonumber(ARGV[3]) - 1)
local ttl = redis.call('PTTL', P .. 'sbx')
if ttl > 0 then
  redis.call('PEXPIRE', key, ttl)
  redis.call('PEXPIRE', key .. ':seq', ttl)
end
return id
