import {
  MAX_ACTIONS_PER_RECORD,
  MAX_ACTIONS_PER_REQUEST,
  type ActionResult,
  type ActionsResponse,
  type SyncRequest,
  type SyncResponse,
} from '@registra/core';
import { writeAll } from '../store/append.js';
import {
  advanceDeviceStatement,
  findRejections,
  lockDevice,
  saveRejectionsStatement,
  touchDevice,
  type DeviceRow,
} from '../store/devices.js';
import { afterCommit, appendActions, type IncomingAction } from './append/index.js';
import type { Caller, Registry } from './context.js';
import { decodeCursor, readChanges } from './feed.js';
import { invalidInput, ProblemError } from './problem.js';
import { appendTransaction } from './transaction.js';

/**
 * PROTOCOL 4: appends the device's actions and answers with the changes it has not seen, in one
 * exchange. Everything acknowledged is committed before the changes are read and the answer sent.
 */
export async function sync(
  registry: Registry,
  caller: Caller,
  request: SyncRequest,
  /** Where the changes are read: the replica for a pull alone (http/replica-reads.ts). */
  reads: Registry = registry,
): Promise<SyncResponse> {
  const { actions } = request;
  checkActionCount(actions);
  // A cursor this server never handed out refuses the request before anything is appended.
  decodeCursor(request.cursor);
  actions.forEach((action, i) => {
    const previous = actions[i - 1];
    if (previous && action.deviceSeq !== previous.deviceSeq + 1) {
      throw invalidInput('actions must be in deviceSeq order with no gaps', [
        { path: `actions.${i}.deviceSeq`, message: `must be ${previous.deviceSeq + 1}` },
      ]);
    }
  });

  const pushed =
    actions.length === 0
      ? await pullOnly(registry, caller, request.deviceId)
      : await push(registry, caller, request);
  const changes = await readChanges(
    reads,
    caller.principal,
    request.deviceId,
    request.cursor,
    request.limit,
  );
  return { ackThrough: pushed.ackThrough, results: pushed.results, ...changes };
}

/** PROTOCOL 7: at most 1,000 actions a request and 200 for one record; more is 413. */
function checkActionCount(actions: readonly Record<string, unknown>[]): void {
  if (actions.length > MAX_ACTIONS_PER_REQUEST) {
    throw new ProblemError(
      413,
      'TOO_MANY_ACTIONS',
      `a request carries at most ${MAX_ACTIONS_PER_REQUEST} actions; this one has ${actions.length}: send them in several`,
    );
  }
  const perRecord = new Map<unknown, number>();
  for (const action of actions) {
    const count = (perRecord.get(action['recordId']) ?? 0) + 1;
    perRecord.set(action['recordId'], count);
    if (count > MAX_ACTIONS_PER_RECORD) {
      throw new ProblemError(
        413,
        'TOO_MANY_ACTIONS',
        `a request carries at most ${MAX_ACTIONS_PER_RECORD} actions for one record; send the rest in another`,
      );
    }
  }
}

function ownDevice(device: DeviceRow, caller: Caller): DeviceRow {
  if (device.userId !== caller.user.id) {
    throw new ProblemError(409, 'DEVICE_CONFLICT', 'this device id belongs to another user');
  }
  return device;
}

/** Nothing to append: no transaction, no lock, no WAL flush; a device pulling pages costs reads. */
async function pullOnly(
  registry: Registry,
  caller: Caller,
  deviceId: string,
): Promise<{ results: ActionResult[]; ackThrough: number }> {
  const device = await touchDevice(registry.db, deviceId, caller.user.id);
  if (!device) return push(registry, caller, { deviceId, actions: [] });
  return { results: [], ackThrough: ownDevice(device, caller).ackThrough };
}

async function push(
  registry: Registry,
  caller: Caller,
  request: Pick<SyncRequest, 'deviceId' | 'actions'>,
): Promise<{ results: ActionResult[]; ackThrough: number }> {
  const { actions } = request;
  return appendTransaction(registry, async (trx) => {
    const device = ownDevice(await lockDevice(trx, request.deviceId, caller.user.id), caller);
    const first = actions[0];
    if (first && first.deviceSeq > device.ackThrough + 1) {
      throw new ProblemError(409, 'SEQ_GAP', `expected deviceSeq ${device.ackThrough + 1} next`, {
        expectedFrom: device.ackThrough + 1,
      });
    }
    const replayed = actions
      .filter((a) => a.deviceSeq <= device.ackThrough)
      .map((a) => a.deviceSeq);
    const incoming: IncomingAction[] = actions.map((raw) => ({
      raw,
      id: raw.id,
      deviceSeq: raw.deviceSeq,
    }));
    const { results, unstored, writes, appended } = await appendActions(
      trx,
      registry,
      caller,
      incoming,
      {
        id: request.deviceId,
        ackThrough: device.ackThrough,
        rejections: await findRejections(trx, request.deviceId, replayed),
      },
    );
    if (unstored.length > 0) writes.push(saveRejectionsStatement(request.deviceId, unstored));
    const ackThrough = Math.max(device.ackThrough, actions[actions.length - 1]?.deviceSeq ?? 0);
    if (ackThrough > device.ackThrough)
      writes.push(advanceDeviceStatement(request.deviceId, ackThrough));
    await writeAll(trx, writes);
    return { results, ackThrough, appended };
  }).then(({ appended, ...pushed }) => {
    afterCommit(registry.effects ?? [], appended);
    return pushed;
  });
}

/** PROTOCOL 6: actions from online clients and integrations, idempotent by action id. */
export async function submitActions(
  registry: Registry,
  caller: Caller,
  actions: { id: string }[],
): Promise<ActionsResponse> {
  checkActionCount(actions);
  const incoming: IncomingAction[] = actions.map((raw) => ({ raw, id: raw.id }));
  const { results, appended } = await appendTransaction(registry, async (trx) => {
    const batch = await appendActions(trx, registry, caller, incoming, null);
    await writeAll(trx, batch.writes);
    return batch;
  });
  afterCommit(registry.effects ?? [], appended);
  return { results };
}
