/**
 * Projects (OpenTok "API key + secret" pairs) known to this server.
 */

/** One project: the api key clients and the server SDK present, and the secret that signs tokens. */
export interface Project {
  apiKey: string;
  apiSecret: string;
}

/** Longest api key accepted (it is embedded in every session id, whose length is capped). */
export const MAX_API_KEY_LENGTH = 128;

// Printable ASCII without '~' (the session id field separator) or whitespace: the SDK decodes
// session ids as ASCII and splits them on '~'.
const API_KEY_RE = /^[\x21-\x7d]+$/;

/** An immutable set of projects, looked up by api key. */
export class ProjectStore {
  readonly #byKey = new Map<string, Project>();

  /**
   * Throws an Error when a project has an empty (or non-string) apiKey or apiSecret, an api key
   * that cannot be carried in a session id (longer than 128, whitespace, '~', non-ASCII),
   * or when an api key appears twice.
   */
  constructor(projects: Iterable<Project>) {
    for (const p of projects) {
      if (typeof p?.apiKey !== 'string' || p.apiKey === '') throw new Error('project apiKey must be a non-empty string');
      if (typeof p.apiSecret !== 'string' || p.apiSecret === '') {
        throw new Error(`project ${p.apiKey}: apiSecret must be a non-empty string`);
      }
      if (p.apiKey.length > MAX_API_KEY_LENGTH || !API_KEY_RE.test(p.apiKey)) {
        throw new Error(
          `project apiKey ${JSON.stringify(p.apiKey.slice(0, 40))} must be at most ${MAX_API_KEY_LENGTH} printable ASCII characters without '~' or spaces`,
        );
      }
      if (this.#byKey.has(p.apiKey)) throw new Error(`duplicate project apiKey ${p.apiKey}`);
      this.#byKey.set(p.apiKey, Object.freeze({ apiKey: p.apiKey, apiSecret: p.apiSecret }));
    }
  }

  /** The project with this api key, or undefined. */
  get(apiKey: string): Project | undefined {
    return this.#byKey.get(apiKey);
  }

  /** All projects, in insertion order. */
  list(): Project[] {
    return [...this.#byKey.values()];
  }
}
