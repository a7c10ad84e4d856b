/**
 * Event objects of the OpenTok.js shape: every event a Session or a Publisher emits carries
 * `type`, `target`, `cancelable`, `isDefaultPrevented()` and `preventDefault()`, plus its own
 * fields. A cancelable event's default action (see README, "Events") runs after the listeners
 * unless one of them called preventDefault().
 */

/** The fields every event has. */
export interface OTEventBase<Type extends string = string, Target = unknown> {
  /** the event name (for signals: the signal's type, as in OpenTok.js) */
  readonly type: Type;
  /** the Session or Publisher that emitted it */
  readonly target: Target;
  /** true when the event has a default action that preventDefault() cancels */
  readonly cancelable: boolean;
  isDefaultPrevented(): boolean;
  /** cancels the default action of a cancelable event; no effect otherwise */
  preventDefault(): void;
}

/** An event: the common fields plus those of its kind. */
export type OTEvent<Type extends string, Target, Fields extends object = object> = OTEventBase<Type, Target> & Readonly<Fields>;

class EventObject implements OTEventBase {
  private prevented = false;
  constructor(readonly type: string, readonly target: unknown, readonly cancelable: boolean) {}
  isDefaultPrevented(): boolean { return this.prevented; }
  preventDefault(): void { if (this.cancelable) this.prevented = true; }
}

/** Builds an event object; `fields` are copied onto it. */
export function makeEvent<Type extends string, Target, Fields extends object>(
  type: Type, target: Target, fields: Fields, cancelable = false,
): OTEvent<Type, Target, Fields> {
  return Object.assign(new EventObject(type, target, cancelable), fields) as unknown as OTEvent<Type, Target, Fields>;
}
