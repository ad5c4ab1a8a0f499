-- ARGV: prefix, grace, now, then the new session and its issue (see open).
return open(4, ARGV[3], generation())
