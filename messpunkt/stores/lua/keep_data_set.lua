-- ARGV: prefix, grace, the data set's name, its canonical bytes.
-- Kept as long as the sandbox's state: a partner sandbox's expires with it.
local key = P .. 'ds:' .. ARGV[3]
redis.call('SET', key, ARGV[4])
local ttl = redis.call('PTTL', P .. 'sbx')
if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
return 1
