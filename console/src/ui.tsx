// Pieces every page uses: a page frame that names itself, loading with polling, errors as the API
// said them, live status lines, and scrollable tables that a keyboard can reach.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';

/** The page the console opened on keeps the browser's own focus (a first Tab reaches "Skip to content"). */
let firstPage = true;

export function Page(props: { title: string; subtitle?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren }) {
  const h1 = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} · Floe console`;
  }, [props.title]);
  useEffect(() => {
    // A page opened from a link: focus its heading, so keyboard and screen reader users start there.
    if (!firstPage && (document.activeElement === document.body || document.activeElement?.closest('nav'))) h1.current?.focus();
    firstPage = false;
  }, []);
  return (
    <>
      <header class="page-head">
        <div>
          <h1 tabIndex={-1} ref={h1}>
            {props.title}
          </h1>
          {props.subtitle ? <p class="subtitle">{props.subtitle}</p> : null}
        </div>
        {props.actions ? <div class="actions">{props.actions}</div> : null}
      </header>
      {props.children}
    </>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads on mount and when `deps` change, and again every `everyMs` while the tab is visible; a slow
 * answer never overwrites a newer one (each load aborts the one before).
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  // Started as soon as the page is in the DOM, not after the browser has painted it.
  useLayoutEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ data, error: undefined, loading: false }),
      (error: unknown) => !ctl.signal.aborted && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => ctl.abort();
  }, [...deps, tick]);
  useEffect(() => {
    if (!everyMs) return undefined;
    const timer = setInterval(() => !document.hidden && reload(), everyMs);
    return () => clearInterval(timer);
  }, [everyMs, reload, ...deps]);
  return { ...state, reload };
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.message} (HTTP ${e.status}, error code ${e.code})`;
  if (e instanceof Error) return e.message;
  return String(e);
}

export function ErrorNote(props: { error: unknown; what?: string }) {
  if (props.error === undefined || props.error === null) return null;
  if (props.error instanceof DOMException && props.error.name === 'AbortError') return null;
  return (
    <p class="error" role="alert">
      {props.what ? `${props.what}: ` : ''}
      {errorText(props.error)}
    </p>
  );
}

/** A line screen readers announce when it changes (results, outcomes of actions). */
export function Status(props: { children: ComponentChildren; id?: string }) {
  return (
    <p class="status" role="status" aria-live="polite" id={props.id}>
      {props.children}
    </p>
  );
}

/** A table that scrolls sideways on its own at narrow widths (200% zoom), reachable by keyboard to scroll. */
export function TableWrap(props: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={props.label} tabIndex={0}>
      <table>
        <caption class="visually-hidden">{props.label}</caption>
        {props.children}
      </table>
    </div>
  );
}

export function Stat(props: { label: string; value: ComponentChildren }) {
  return (
    <div class="stat">
      <dt>{props.label}</dt>
      <dd>{props.value}</dd>
    </div>
  );
}

export function Section(props: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card">
      <div class="section-head">
        <h2>{props.title}</h2>
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}

/** A labelled control: the label names the input by id, a hint is its description. */
export function Field(props: { id: string; label: string; hint?: ComponentChildren; error?: string | undefined; children: ComponentChildren; wide?: boolean }) {
  return (
    <div class={`field${props.wide ? ' wide' : ''}`}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint ? (
        <small id={`${props.id}-hint`} class="hint">
          {props.hint}
        </small>
      ) : null}
      {props.error ? (
        <small id={`${props.id}-error`} class="field-error" role="alert">
          {props.error}
        </small>
      ) : null}
    </div>
  );
}

/** For an input inside a Field: its description ids. */
export const described = (id: string, hint: boolean, error: string | undefined) => {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return ids ? { 'aria-describedby': ids, 'aria-invalid': error ? true : undefined } : {};
};

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}
