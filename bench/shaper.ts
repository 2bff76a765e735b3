/**
 * A network shaper in user space (the kernel's netem is not available): a TCP proxy on 127.0.0.1
 * that gives each direction its own bandwidth and half the round-trip time, charges one RTT for
 * the connection handshake, and drops the connection of a request with a given probability.
 *
 * Each direction is a link with a token bucket one packet (1,460 bytes) deep: a packet leaves when
 * the link has sent the previous one at its rate, and arrives RTT/2 later. A dropped request is
 * cut either before it reaches the server (the request is lost) or when the answer starts (the
 * server acted, the device never hears of it); the client sees a reset connection either way.
 */
import net from 'node:net';
import { prng } from './fixtures.js';

export interface LinkProfile {
  name: string;
  /** Bits per second, server to device. */
  downBps: number;
  /** Bits per second, device to server. */
  upBps: number;
  rttMs: number;
  /** Probability that a request's connection is dropped. */
  loss: number;
}

export const PROFILES: readonly LinkProfile[] = [
  { name: '3G', downBps: 780_000, upBps: 330_000, rttMs: 200, loss: 0 },
  { name: 'EDGE', downBps: 240_000, upBps: 200_000, rttMs: 840, loss: 0 },
  { name: '2G rural', downBps: 20_000, upBps: 18_000, rttMs: 1300, loss: 0.02 },
];

const PACKET = 1460;

/** One direction of the link: packets serialised at the rate, delivered RTT/2 later, in order. */
class Link {
  #free = 0;
  readonly #queue: { at: number; data: Buffer }[] = [];
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(
    private readonly bytesPerMs: number,
    private readonly delayMs: number,
    private readonly deliver: (data: Buffer) => void,
    startAt: number,
  ) {
    this.#free = startAt;
  }

  send(data: Buffer): void {
    for (let offset = 0; offset < data.length; offset += PACKET) {
      const packet = data.subarray(offset, offset + PACKET);
      const start = Math.max(performance.now(), this.#free);
      this.#free = start + packet.length / this.bytesPerMs;
      this.#queue.push({ at: this.#free + this.delayMs, data: packet });
    }
    this.#schedule();
  }

  /** Resolves once everything queued has been delivered. */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      const check = () =>
        this.#queue.length === 0 || this.#closed ? resolve() : setTimeout(check, 5);
      check();
    });
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#queue.length = 0;
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return;
    const head = this.#queue[0];
    if (!head) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        const now = performance.now();
        for (let next = this.#queue[0]; next && next.at <= now + 0.5; next = this.#queue[0]) {
          this.#queue.shift();
          this.deliver(next.data);
        }
        this.#schedule();
      },
      Math.max(0, head.at - performance.now()),
    );
  }
}

export interface ShaperStats {
  /** Bytes from the device to the server, on the wire (HTTP headers included). */
  up: number;
  /** Bytes from the server to the device. */
  down: number;
  requests: number;
  dropped: number;
  connections: number;
}

export class ShapingProxy {
  readonly stats: ShaperStats = { up: 0, down: 0, requests: 0, dropped: 0, connections: 0 };
  /** Drop requests with the profile's loss probability only while true. */
  lossy = false;
  readonly #sockets = new Set<net.Socket>();
  readonly #server: net.Server;
  readonly #random: () => number;

  constructor(
    private readonly upstreamPort: number,
    private readonly profile: LinkProfile,
    seed = 1,
  ) {
    this.#random = prng(seed);
    this.#server = net.createServer((socket) => this.#connect(socket));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address() as net.AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  resetStats(): void {
    Object.assign(this.stats, { up: 0, down: 0, requests: 0, dropped: 0, connections: 0 });
  }

  /** Cuts every open connection (kept-alive ones included), so the next request connects anew. */
  closeConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  async stop(): Promise<void> {
    this.closeConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #connect(device: net.Socket): void {
    const { profile } = this;
    this.stats.connections += 1;
    const server = net.connect(this.upstreamPort, '127.0.0.1');
    this.#sockets.add(device);
    this.#sockets.add(server);
    const half = profile.rttMs / 2;
    // The handshake: the device's first byte can leave one RTT after it asked to connect.
    const up = new Link(
      profile.upBps / 8000,
      half,
      (data) => {
        this.stats.up += data.length;
        server.write(data);
      },
      performance.now() + profile.rttMs,
    );
    const down = new Link(
      profile.downBps / 8000,
      half,
      (data) => {
        this.stats.down += data.length;
        device.write(data);
      },
      performance.now(),
    );
    let awaitingRequest = true;
    let dropWhenAnswered = false;
    const cut = () => {
      up.close();
      down.close();
      device.destroy();
      server.destroy();
      this.#sockets.delete(device);
      this.#sockets.delete(server);
    };

    let lost = false;
    device.on('data', (data: Buffer) => {
      if (lost) return;
      if (awaitingRequest) {
        awaitingRequest = false;
        this.stats.requests += 1;
        if (this.lossy && this.#random() < profile.loss) {
          this.stats.dropped += 1;
          if (this.#random() < 0.5) {
            // The request is lost on the way: the device notices after a while.
            lost = true;
            setTimeout(cut, profile.rttMs);
            return;
          }
          dropWhenAnswered = true;
        }
      }
      up.send(data);
    });
    server.on('data', (data: Buffer) => {
      if (dropWhenAnswered) {
        cut();
        return;
      }
      awaitingRequest = true;
      down.send(data);
    });
    device.on('end', () => void up.drained().then(() => server.end()));
    server.on('end', () => void down.drained().then(() => device.end()));
    device.on('error', cut);
    server.on('error', cut);
    device.on('close', () => this.#sockets.delete(device));
    server.on('close', () => this.#sockets.delete(server));
  }
}
