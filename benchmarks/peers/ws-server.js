// The Node.js peer of eventshop's fan-out benchmark: the same channel protocol subset on the
// `ws` package, written the way users typically write it (JSON.stringify once per message, then
// ws.send(text) to every subscriber). Single-threaded, as Node is.
//
//   node ws-server.js [port]      prints "listening on <port>"
// Client ops: {"op":"subscribe","channel":C} -> {"type":"subscribed",...}; {"op":"ping"} ->
// {"type":"pong"}; and the benchmark's control op {"op":"publish","count":N,"payload":BYTES}
// that publishes N updates to every subscriber, each carrying t = CLOCK_MONOTONIC ns.
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 0);
const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false });
const subscribers = new Set();
let offset = 0;

wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    let m;
    try {
      m = JSON.parse(data.toString());
    } catch (e) {
      ws.send(JSON.stringify({ type: 'error', code: 'bad_json', message: String(e) }));
      return;
    }
    if (m.op === 'subscribe') {
      subscribers.add(ws);
      ws.send(JSON.stringify({ type: 'subscribed', channel: m.channel, epoch: 'node', offset, recovered: false }));
    } else if (m.op === 'ping') {
      ws.send('{"type":"pong"}');
    } else if (m.op === 'publish') {
      const pad = 'x'.repeat(m.payload || 64);
      for (let i = 0; i < (m.count || 1); i++) {
        offset++;
        const text = JSON.stringify({
          type: 'update', channel: 'bench', offset,
          data: { seq: offset, t: Number(process.hrtime.bigint()), pad },
        });
        for (const c of subscribers) c.send(text);
      }
    }
  });
  ws.on('close', () => subscribers.delete(ws));
  ws.on('error', () => subscribers.delete(ws));
});
wss.on('listening', () => {
  console.log('listening on ' + wss.address().port);
});
