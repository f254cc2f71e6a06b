/**
 * Observability of MemoryPoolingModule: the event payloads, and the
 * `node:diagnostics_channel` channels that carry the same payloads to
 * subscribers outside the module's EventEmitter (APM agents, loggers).
 *
 * Every event is published on both: `module.on(name, ...)` and the channel
 * `memory-pool-core:<name>`. Per-allocation events ('allocate', 'deallocate')
 * are built only when someone listens on either side: the module checks one
 * cached boolean per call, so an unobserved allocation costs nothing more.
 */
import * as diagnosticsChannel from 'node:diagnostics_channel';
import type { CollectionResult } from './gc';
import type { DefragmentResult, PressureLevel } from './memory-pool';

export interface OutOfMemoryEvent {
  pool: string;
  owner: string;
  requestedBytes: number;
  /** Free bytes when the allocation failed (after any automatic collection). */
  availableBytes: number;
  largestFreeBytes: number;
  /** True if the caller now waits for memory ({ wait: true }). */
  waiting: boolean;
}

export interface PressureEvent {
  pool: string;
  level: PressureLevel;
  previous: PressureLevel;
}

export interface CollectionEvent extends CollectionResult {
  pool: string;
  /** 'manual', 'pressure' (level reached high) or 'allocation-failure'. */
  trigger: 'manual' | 'pressure' | 'allocation-failure';
}

export interface DefragmentEvent extends DefragmentResult {
  pool: string;
  /** True for a pass the pool ran inside an allocation (enableDefragmentation), false for defragment(). */
  automatic: boolean;
}

export interface LeakEvent {
  pool: string;
  blockId: number;
  owner: string;
  sizeBytes: number;
  /** Stack of the allocateGuarded() call, when the module tracks leaks; else undefined. */
  allocatedAt: string | undefined;
}

export interface EvictionEvent {
  pool: string;
  blockId: number;
  owner: string;
  /** Bytes charged to the owner for the block. */
  sizeBytes: number;
}

export interface AllocateEvent {
  pool: string;
  blockId: number;
  owner: string;
  sizeBytes: number;
}

export interface DeallocateEvent {
  pool: string;
  blockId: number;
}

/** Event name -> payload, for `module.on(name, (payload) => ...)`. */
export interface ModuleEventMap {
  oom: OutOfMemoryEvent;
  pressure: PressureEvent;
  collection: CollectionEvent;
  defragment: DefragmentEvent;
  leak: LeakEvent;
  eviction: EvictionEvent;
  allocate: AllocateEvent;
  deallocate: DeallocateEvent;
}
export type ModuleEventName = keyof ModuleEventMap;

/** Prefix of every diagnostics channel name. */
export const CHANNEL_PREFIX = 'memory-pool-core:';

export const MODULE_EVENT_NAMES = Object.freeze([
  'oom',
  'pressure',
  'collection',
  'defragment',
  'leak',
  'eviction',
  'allocate',
  'deallocate',
] as const satisfies readonly ModuleEventName[]);

/** The channel of each event: `channels.oom.name === 'memory-pool-core:oom'`. */
export const channels: Readonly<Record<ModuleEventName, diagnosticsChannel.Channel>> =
  Object.freeze(
    Object.fromEntries(
      MODULE_EVENT_NAMES.map((n) => [n, diagnosticsChannel.channel(CHANNEL_PREFIX + n)]),
    ) as Record<ModuleEventName, diagnosticsChannel.Channel>,
  );
