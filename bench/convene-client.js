/*
 * bench/convene-client: the Convene client (native core + TypeScript Session) behind the
 * interface the benchmark scenarios use; bench/baseline-client.js has the same shape.
 */
'use strict';
const { initSession } = require('../dist/index.js');

/**
 * connect({ url, apiKey, sessionId, token }) → Promise<Client>
 * Client: connectionId, onSignal(type, data, fromId), signal(type, data, to?) → Promise,
 * signalNoAck(type, data, to?), disconnect() → Promise.
 */
async function connect({ url, apiKey, sessionId, token, connectionEventsSuppressed }) {
  const session = initSession(apiKey, sessionId, { serverUrl: url, connectionEventsSuppressed: connectionEventsSuppressed === true });
  const client = {
    session,
    connectionId: '',
    onSignal: () => {},
    signal(type, data, to) {
      return session.signal(to === undefined ? { type, data } : { type, data, to: { connectionId: to } });
    },
    signalNoAck(type, data, to) {
      session.signal(to === undefined ? { type, data } : { type, data, to: { connectionId: to } }).catch(() => {});
    },
    disconnect() {
      if (session.connectionStatus === 'disconnected') return Promise.resolve();
      return new Promise((resolve) => {
        session.once('sessionDisconnected', () => resolve());
        session.disconnect();
      });
    },
  };
  session.on('signal', (e) => client.onSignal(e.type, e.data, e.from ? e.from.connectionId : null));
  await session.connect(token);
  client.connectionId = session.connection.connectionId;
  return client;
}

module.exports = { connect };
