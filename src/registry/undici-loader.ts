// undici, loaded on the first request rather than when the registry module is imported: it is the
// largest module berth loads, and most commands that open the image services (`run` of a present
// image, `ps`, `images`) never talk to a registry.
//
// Only the part of undici berth uses is loaded: the Agent (its pools, clients and HTTP/1.1 parser)
// and the request API. undici's index.js also loads fetch, WebSocket, EventSource, cookies, the
// mock agents and the cache stores, about half of its load time (~45 ms of CPU here without the
// compile cache). The index does exactly this to make `request` a method of every dispatcher
// (Object.assign(Dispatcher.prototype, api)); `request` below is its `makeDispatcher(api.request)`
// for the one call shape berth makes: a URL object and an explicit dispatcher.

import type * as Undici from 'undici';
import { InternalError } from '../errdefs/index.ts';

export interface UndiciApi {
  Agent: typeof Undici.Agent;
  request(url: URL, opts: RequestOptions): Promise<Undici.Dispatcher.ResponseData>;
}

/** What berth passes to request(): always its own dispatcher (no global one is ever made). */
export type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  dispatcher: Undici.Dispatcher;
  method?: Undici.Dispatcher.HttpMethod;
};

let loaded: UndiciApi | undefined;

/** A CommonJS module's exports: named when run from the sources, `default` only from the bundle. */
function exportsOf<T>(m: unknown): T {
  const d = (m as { default?: unknown }).default;
  return (d ?? m) as T;
}

export async function loadUndici(): Promise<UndiciApi> {
  if (loaded === undefined) {
    const [agent, dispatcher, api] = await Promise.all([
      import('undici/lib/dispatcher/agent.js'),
      import('undici/lib/dispatcher/dispatcher.js'),
      import('undici/lib/api/index.js'),
    ]);
    const Dispatcher = exportsOf<{ prototype: object }>(dispatcher);
    Object.assign(Dispatcher.prototype, exportsOf<object>(api));
    loaded = {
      Agent: exportsOf<typeof Undici.Agent>(agent),
      request: (url, opts) => {
        const { dispatcher: d, ...rest } = opts;
        return d.request({
          ...rest,
          origin: url.origin,
          path: url.search ? `${url.pathname}${url.search}` : url.pathname,
          method: opts.method ?? (opts.body ? 'PUT' : 'GET'),
        });
      },
    };
  }
  return loaded;
}

/** undici after loadUndici() has resolved once; code on the request path only. */
export function undiciNow(): UndiciApi {
  if (loaded === undefined) throw new InternalError('registry: undici used before it was loaded');
  return loaded;
}
