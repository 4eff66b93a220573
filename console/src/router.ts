// Pages are addressed by the URL's fragment (#/groups/billing?tab=...): the server serves one index for
// all of them, links work when copied, and Back goes back.
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  path: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = (q < 0 ? raw : raw.slice(0, q)).split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { path, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

export type Query = Record<string, string | number | boolean | undefined | null>;

/** A link to a page: segments are encoded, empty query values left out. */
export function href(path: Array<string | number>, query: Query = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '' && v !== false) qs.set(k, String(v));
  const s = qs.toString();
  return `#/${path.map((p) => encodeURIComponent(String(p))).join('/')}${s ? `?${s}` : ''}`;
}

export function navigate(path: Array<string | number>, query: Query = {}, replace = false): void {
  const to = href(path, query);
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
