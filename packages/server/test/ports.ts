import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A port on 127.0.0.1 that nothing listens on right now (for test and benchmark servers). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * A free port for a server that is stopped or killed and must come back on the same port (the
 * clients keep its address). A port from freePort() is one the kernel hands out by itself: while
 * such a server is down or starting, any listen(0) or outgoing connection on the machine (another
 * test file's server, proxy or database client) may be given that very port, and the restart
 * fails or, worse, the clients reach someone else's server. Below the kernel's ephemeral range no
 * port is ever handed out unasked; only another explicit choice could take it, and this one is
 * random.
 */
export async function fixedPort(): Promise<number> {
  const low = ephemeralLow();
  const from = 10_000;
  if (low - from >= 1_000) {
    for (let attempt = 0; attempt < 100; attempt++) {
      const port = from + Math.floor(Math.random() * (low - from));
      if (await canListen(port)) return port;
    }
  }
  return freePort(); // no room below the ephemeral range on this machine
}

/** The first port of the range the kernel picks ports from (Linux; IANA's elsewhere). */
function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low && Number.isInteger(low)) return low;
  } catch {
    // not Linux
  }
  return 49_152;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
