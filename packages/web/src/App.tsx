import { useEffect, useState } from 'react';
import { Flash } from './components/Flash.js';
import { Header } from './components/Header.js';
import { openForm } from './form/autosave.js';
import { useClient, useObservable, WorkspaceProvider } from './hooks/index.js';
import { useT } from './i18n/index.js';
import { go, useRoute, type Route } from './router.js';
import { Adapters } from './screens/Adapters.js';
import { Deliveries } from './screens/Deliveries.js';
import { DuplicateReview } from './screens/DuplicateReview.js';
import { FormScreen } from './screens/FormScreen.js';
import { Consent } from './screens/Consent.js';
import { Home } from './screens/Home.js';
import { Login } from './screens/Login.js';
import { RecordPage } from './screens/RecordPage.js';
import { PrintCertificate } from './screens/PrintCertificate.js';
import { Search } from './screens/Search.js';
import { SignOn, signOnOutcome } from './screens/SignOn.js';
import { Verify } from './screens/Verify.js';

/**
 * Signed in: the header and the screen the hash names. On start, the session of a reload (or of
 * a tab the phone killed) is resumed without the password while the server still takes it.
 * Locked or signed out: the login.
 */
export function App() {
  const client = useClient();
  const t = useT();
  const user = useObservable(client.user);
  const route = useRoute();
  const [resuming, setResuming] = useState(true);
  useEffect(() => {
    client
      .resume()
      .catch(() => null)
      .finally(() => setResuming(false));
  }, [client]);
  useEffect(() => {
    // A form left open when the tab was killed and the address lost: back to it.
    const open = user ? openForm(user.id) : null;
    if (open && (window.location.hash === '' || window.location.hash === '#/')) go(open);
  }, [user]);
  // The consent portal is the citizen's, not staff's: the same page signed in or not.
  if (route.name === 'consent') return <Consent key={route.id} consentId={route.id} />;
  if (!user && resuming)
    return (
      <main className="login">
        <p className="empty">{t.resuming}</p>
      </main>
    );
  // Anyone may check a certificate, signed in or not (a border officer, a school).
  if (!user && route.name === 'verify')
    return (
      <main className="main" id="main">
        <p>
          <a href="#/">← {t.logIn}</a>
        </p>
        <Verify />
      </main>
    );
  // Back from the sign-on provider (the server's callback sent the browser here).
  const signedOn = signOnOutcome(window.location.hash);
  if (!user && signedOn) return <SignOn outcome={signedOn} />;
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
      return <Home queue={route.queue} />;
    case 'search':
      return <Search />;
    case 'deliveries':
      return <Deliveries />;
    case 'adapters':
      return <Adapters />;
    case 'record':
      return <RecordPage key={route.id} recordId={route.id} />;
    case 'duplicates':
      return <DuplicateReview key={route.id} recordId={route.id} />;
    case 'new':
      return (
        <FormScreen
          key={`new-${route.recordType}`}
          mode={{ kind: 'new', recordType: route.recordType }}
        />
      );
    case 'print':
      return <PrintCertificate key={`print-${route.id}`} recordId={route.id} />;
    case 'verify':
      return <Verify />;
    case 'consent':
      return <Consent key={route.id} consentId={route.id} />;
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
