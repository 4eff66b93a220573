// The web console's routes: its files under /console/ (an index and two content-hashed assets; the
// pages route by the URL's fragment, so no other path is needed), and the one read the HTTP API lacked,
// figures over time (GET /floe/v1/metrics). Everything else the console shows it reads from the API
// itself, through the same routes, errors and authorization as any client.
import type { Context, Hono } from 'hono';
import type { Engine } from '../engine/engine.ts';
import { FloeError } from '../errors.ts';
import { validateGroupId } from '../groups/consumer-instances.ts';
import type { AppOptions } from '../api/options.ts';
import { intQuery, topicParam } from '../api/params.ts';
import type { ConsoleAssets } from './assets.ts';
import type { SampleSource } from './samples.ts';

export interface ConsoleOptions {
  /** The built files: in memory at `npm start`, read from the function's code in AWS. */
  assets: () => Promise<ConsoleAssets>;
  /** Figures over time: the local ring, or CloudWatch. */
  samples: SampleSource;
}

// Nothing but this origin: no script, style or font from elsewhere, no framing, no plugins.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function serve(c: Context, assets: ConsoleAssets, name: string): Response {
  const a = assets.get(name);
  if (!a) throw new FloeError('NOT_FOUND', `HTTP 404 Not Found: no console file ${name}`);
  const headers: Record<string, string> = {
    'content-type': a.type,
    etag: a.etag,
    'cache-control': a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    vary: 'accept-encoding',
  };
  if (a.type.startsWith('text/html')) headers['content-security-policy'] = CSP;
  if ((c.req.header('if-none-match') ?? '').split(',').some((t) => t.trim() === a.etag)) return c.body(null, 304, headers);
  const gzip = /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
  if (gzip) headers['content-encoding'] = 'gzip';
  return c.body((gzip ? a.gzip : a.body) as Uint8Array<ArrayBuffer>, 200, headers);
}

export function consoleRoutes(app: Hono, _engine: Engine, options: AppOptions): void {
  const ui = options.console;
  const off = () => new FloeError('NOT_FOUND', 'HTTP 404 Not Found: the console is not enabled here (it is on with `npm start`, and in AWS with -c console=true)');

  app.get('/console', (c) => {
    if (!ui) throw off();
    return c.redirect(`${new URL(c.req.url).pathname}/`, 308);
  });
  app.get('/console/', async (c) => {
    if (!ui) throw off();
    return serve(c, await ui.assets(), 'index.html');
  });
  app.get('/console/:file', async (c) => {
    if (!ui) throw off();
    return serve(c, await ui.assets(), c.req.param('file'));
  });

  /** `minutes` (1 to 60, 60 by default) of produce and fetch rates per topic and lag per group; `topic` or `group` narrows it. */
  app.get('/floe/v1/metrics', async (c) => {
    if (!ui) throw new FloeError('NOT_FOUND', 'HTTP 404 Not Found: figures over time are served with the console, which is not enabled here');
    const topic = c.req.query('topic');
    const group = c.req.query('group');
    if (topic !== undefined && group !== undefined) throw new FloeError('BAD_REQUEST', "give 'topic' or 'group', not both");
    const minutes = intQuery(c.req.query('minutes'), 'minutes', { min: 1, max: 60, default: 60 })!;
    return c.json(
      await ui.samples.series({
        minutes,
        ...(topic !== undefined ? { topic: topicParam(topic) } : {}),
        ...(group !== undefined ? { group: validateGroupId(group) } : {}),
      }),
    );
  });
}
