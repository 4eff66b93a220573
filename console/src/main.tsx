// The Floe console: a single page over Floe's HTTP API. The fragment names the page; each page loads
// what it shows from the API and refreshes it while visible.
import 'uplot/dist/uPlot.min.css';
import './console.css';
import { render } from 'preact';
import { ConnectorPage, ConnectorsPage } from './pages/connectors.tsx';
import { GroupPage, GroupsPage } from './pages/groups.tsx';
import { MessagesPage } from './pages/messages.tsx';
import { Overview } from './pages/overview.tsx';
import { TablePage, TablesPage } from './pages/tables.tsx';
import { TopicPage } from './pages/topic.tsx';
import { TriggerPage, TriggersPage } from './pages/triggers.tsx';
import { href, useRoute, type Route } from './router.ts';
import { Page } from './ui.tsx';

const NAV = [
  { path: '', label: 'Overview' },
  { path: 'messages', label: 'Messages' },
  { path: 'groups', label: 'Groups' },
  { path: 'triggers', label: 'Triggers' },
  { path: 'tables', label: 'Tables' },
  { path: 'connectors', label: 'Connectors' },
];

function page(route: Route) {
  const [section, name] = route.path;
  switch (section) {
    case undefined:
      return <Overview />;
    case 'topics':
      return name ? <TopicPage key={name} name={name} /> : <Overview />;
    case 'messages':
      return <MessagesPage route={route} />;
    case 'groups':
      return name ? <GroupPage key={name} id={name} /> : <GroupsPage />;
    case 'triggers':
      return name ? <TriggerPage key={name} name={name} /> : <TriggersPage />;
    case 'tables':
      return name ? <TablePage key={name} name={name} /> : <TablesPage />;
    case 'connectors':
      return name ? <ConnectorPage key={name} name={name} /> : <ConnectorsPage />;
    default:
      return (
        <Page title="Not found">
          <p>
            There is no page {route.path.join('/')}. <a href={href([])}>Go to the overview</a>.
          </p>
        </Page>
      );
  }
}

function App() {
  const route = useRoute();
  const section = route.path[0] === 'topics' ? '' : (route.path[0] ?? '');
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href([])}>
          Floe
        </a>
        <nav aria-label="Console">
          <ul>
            {NAV.map((n) => (
              <li key={n.path}>
                <a href={href(n.path ? [n.path] : [])} aria-current={section === n.path ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {/* Keyed by the page, not the query: a page keeps its state while it edits its own URL. */}
        <div key={route.path.join('/')}>{page(route)}</div>
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
