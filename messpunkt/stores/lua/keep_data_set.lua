-- ARGV: prefix, grace, the data set's name, its canonical bytes.
-- Kept as long as the sandbox's state: a partner sandbox's expires with it. 0 for a sandbox
-- deleted or expired meanwhile, which keeps nothing more.
local ttl = redis.call('PTTL', P .. 'sbx')
if ttl == -2 then return 0 end
local key = P .. 'ds:' .. ARGV[3]
redis.call('SET', key, ARGV[4])
if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
return 1
