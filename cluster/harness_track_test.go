package cluster_test

import "testing/fstest"

// diagPkg has Track, a Sequence that logs the first 20 numbers out of
// order and the process it saw them in; Resume, which checks a stream
// whose beginning may be lost; and Asker, which checks the replies of its
// asks.
var diagPkg = fstest.MapFS{
	"peacepie.toml": {Data: []byte("name = \"diag\"\nversion = \"0.1.0\"\n\n[actors]\nTrack = \"track\"\nResume = \"resume\"\nAsker = \"asker\"\n")},
	"asker.lua": {Data: []byte(`local pp = require "peacepie"
-- "ask" {to, command, want, n} asks n times, one after the other, and
-- answers "asked", or "failed" with the first reply that is not want (or
-- the error of an ask that got none).
local Asker = {}
function Asker:ask(body)
  for i = 1, body.n do
    local r, err = pp.ask(body.to, body.command, { n = i })
    if not r then return "failed", { n = i, error = err } end
    if r.command ~= body.want then return "failed", { n = i, reply = r.command, body = r.body } end
  end
  return "asked", { n = body.n }
end
return Asker
`)},
	"resume.lua": {Data: []byte(`local pp = require "peacepie"
-- The first number after it was made (or made again by a restart) starts
-- it; each after that must be the last one plus one (the first 20 that
-- are not are logged). tag is set by set_params, to see which params a
-- restart brings back.
local Resume = { params = { first = 0, last = 0, count = 0, errors = 0, tag = "", log = {} } }
function Resume:next(body)
  if self.first == 0 then
    self.first = body.n
  elseif body.n ~= self.last + 1 then
    self.errors = self.errors + 1
    if #self.log < 20 then
      table.insert(self.log, string.format("got %d after %d", body.n, self.last))
    end
  end
  self.last = body.n
  self.count = self.count + 1
end
function Resume:state()
  return "state", { first = self.first, last = self.last, count = self.count, errors = self.errors, tag = self.tag, at = pp.node(),
    log = table.concat(self.log, "; ") }
end
return Resume
`)},
	"track.lua": {Data: []byte(`local pp = require "peacepie"
local Track = { params = { last = 0, errors = 0, log = {}, at = "" } }
function Track:start()
  self.at = pp.node()
  return "started"
end
function Track:next(body)
  if body.n ~= self.last + 1 and #self.log < 20 then
    table.insert(self.log, string.format("got %d after %d in %s", body.n, self.last, self.at))
  end
  if body.n ~= self.last + 1 then self.errors = self.errors + 1 end
  self.last = body.n
end
function Track:state()
  return "state", { last = self.last, errors = self.errors, log = table.concat(self.log, "; ") }
end
return Track
`)},
}
