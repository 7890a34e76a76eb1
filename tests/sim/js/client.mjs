// Drives a simulator hub with Microsoft's @microsoft/signalr client, for tests/sim/test_hubs_js.py.
//
// Usage: node client.mjs '<json config>'
//   config: {url, token, skipNegotiation, events: [name...], invoke: [[method, ...args]...],
//            expect: number of events to print before stopping}
// Prints one JSON object per line on stdout:
//   {"invoked": method} | {"invokeError": method, "message": text} | {"ready": true}
//   {"event": name, "args": [...]} | {"closed": true, "error": text|null}
import signalR from "@microsoft/signalr";

const config = JSON.parse(process.argv[2]);
const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// Library logs go to stderr so stdout carries only the JSON lines above.
const logger = {
  log(level, message) {
    if (level >= signalR.LogLevel.Warning) process.stderr.write(`signalr: ${message}\n`);
  },
};

const connection = new signalR.HubConnectionBuilder()
  .withUrl(config.url, {
    skipNegotiation: config.skipNegotiation,
    transport: signalR.HttpTransportType.WebSockets,
    accessTokenFactory: () => config.token,
    timeout: 10000,
  })
  .configureLogging(logger)
  .build();

let seen = 0;
for (const name of config.events) {
  connection.on(name, (...args) => {
    print({ event: name, args });
    seen += 1;
    if (seen >= config.expect) connection.stop();
  });
}
connection.onclose((error) => {
  print({ closed: true, error: error ? error.message : null });
  process.exit(0);
});

try {
  await connection.start();
} catch (error) {
  print({ startError: error.message });
  process.exit(0);
}
for (const [method, ...args] of config.invoke) {
  try {
    await connection.invoke(method, ...args); // resolves only on the server's Completion
    print({ invoked: method });
  } catch (error) {
    print({ invokeError: method, message: error.message });
  }
}
print({ ready: true });
if (config.expect === 0) await connection.stop();
