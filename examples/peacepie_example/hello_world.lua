-- HelloWorld prints "Hello, World!" on tick and answers "hello_world".
local HelloWorld = {}

function HelloWorld:tick()
  print("Hello, World!")
  return "hello_world"
end

function HelloWorld:start()
  return "started"
end

return HelloWorld
