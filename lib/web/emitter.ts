/**
 * Events for the browser client in the OpenTok.js shape: on / once / off with a typed event map,
 * event objects with type, target, cancelable, preventDefault(). No Node API (browser module).
 */

export interface OTEventBase<Type extends string = string, Target = unknown> {
  readonly type: Type;
  readonly target: Target;
  readonly cancelable: boolean;
  isDefaultPrevented(): boolean;
  preventDefault(): void;
}

export type OTEvent<Type extends string, Target, Fields extends object = object> = OTEventBase<Type, Target> & Readonly<Fields>;

class EventObject implements OTEventBase {
  private prevented = false;
  constructor(readonly type: string, readonly target: unknown, readonly cancelable: boolean) {}
  isDefaultPrevented(): boolean { return this.prevented; }
  preventDefault(): void { if (this.cancelable) this.prevented = true; }
}

export function makeEvent<T extends object>(type: string, target: unknown, fields: T, cancelable = false): OTEventBase & T {
  return Object.assign(new EventObject(type, target, cancelable), fields);
}

type Listener = (event: never) => void;

/** A typed emitter: `Events` maps names to the event each listener gets. */
export class Emitter<Events extends { [K in keyof Events]: OTEventBase }> {
  private readonly listeners = new Map<string, Array<{ fn: Listener; once: boolean; context: unknown }>>();

  on<K extends keyof Events & string>(type: K, fn: (event: Events[K]) => void, context?: unknown): this {
    this.add(type, fn as Listener, false, context);
    return this;
  }

  once<K extends keyof Events & string>(type: K, fn: (event: Events[K]) => void, context?: unknown): this {
    this.add(type, fn as Listener, true, context);
    return this;
  }

  off<K extends keyof Events & string>(type?: K, fn?: (event: Events[K]) => void): this {
    if (type === undefined) this.listeners.clear();
    else if (!fn) this.listeners.delete(type);
    else this.listeners.set(type, (this.listeners.get(type) ?? []).filter((l) => l.fn !== (fn as Listener)));
    return this;
  }

  listenerCount(type: keyof Events & string): number {
    return this.listeners.get(type)?.length ?? 0;
  }

  /** Calls the listeners (a throwing listener does not stop the others: it is reported on the console). */
  protected emit(type: string, event: OTEventBase): void {
    const list = this.listeners.get(type);
    if (!list) return;
    for (const l of [...list]) {
      if (l.once) this.listeners.set(type, (this.listeners.get(type) ?? []).filter((x) => x !== l));
      try {
        (l.fn as (e: OTEventBase) => void).call(l.context, event);
      } catch (e) {
        console.error(`convene/web: a '${type}' listener threw`, e);
      }
    }
  }

  private add(type: string, fn: Listener, once: boolean, context: unknown): void {
    const list = this.listeners.get(type) ?? [];
    list.push({ fn, once, context });
    this.listeners.set(type, list);
  }
}
