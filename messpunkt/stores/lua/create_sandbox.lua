-- ARGV: prefix, grace, created at, expires at (machine-clock ms), its data set, then the
-- state's fields as name, value, … One step: a sandbox is whole (its registry entry, and its
-- state expiring with it) or absent, so a sweep that runs meanwhile never finds half of one
-- and ends it. An id that was ever used, live or ended, is refused.
if redis.call('EXISTS', P .. 'meta', P .. 'ended') > 0 then return 0 end
redis.call('HSET', P .. 'meta', 'created_at', ARGV[3], 'expires_at', ARGV[4],
           'data_set', ARGV[5])
redis.call('HSET', P .. 'sbx', unpack(ARGV, 6))
-- `ends` as well: the workers decide expiry on their own clock, as the registry does (the
-- TTL, on Redis's clock, only collects the keys).
redis.call('HSET', P .. 'sbx', 'ends', ARGV[4])
redis.call('PEXPIREAT', P .. 'sbx', ARGV[4])
return 1
