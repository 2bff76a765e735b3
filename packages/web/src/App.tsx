import { Flash } from './components/Flash.js';
import { Header } from './components/Header.js';
import { useClient, useObservable, WorkspaceProvider } from './hooks/index.js';
import { useRoute, type Route } from './router.js';
import { Deliveries } from './screens/Deliveries.js';
import { FormScreen } from './screens/FormScreen.js';
import { Home } from './screens/Home.js';
import { Login } from './screens/Login.js';
import { RecordPage } from './screens/RecordPage.js';
import { Search } from './screens/Search.js';

/** Signed in: the header and the screen the hash names. Locked or signed out: the login. */
export function App() {
  const client = useClient();
  const user = useObservable(client.user);
  const route = useRoute();
  if (!user) return <Login />;
  return (
    <WorkspaceProvider key={user.id}>
      <div className="app">
        <Header />
        <main className="main" id="main">
          <Flash key={window.location.hash} />
          <Screen route={route} />
        </main>
      </div>
    </WorkspaceProvider>
  );
}

function Screen({ route }: { route: Route }) {
  switch (route.name) {
    case 'home':
      return <Home queue={route.queue ?? 'ready-for-review'} />;
    case 'search':
      return <Search />;
    case 'deliveries':
      return <Deliveries />;
    case 'record':
      return <RecordPage key={route.id} recordId={route.id} />;
    case 'new':
      return (
        <FormScreen
          key={`new-${route.recordType}`}
          mode={{ kind: 'new', recordType: route.recordType }}
        />
      );
    case 'draft':
      return <FormScreen key={`draft-${route.id}`} mode={{ kind: 'draft', draftId: route.id }} />;
    case 'act':
      return (
        <FormScreen
          key={`act-${route.id}-${route.action}`}
          mode={{ kind: 'action', recordId: route.id, action: route.action }}
        />
      );
  }
}
