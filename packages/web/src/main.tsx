import { createClient } from '@registra/client';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { registerSW } from 'virtual:pwa-register';
import { App } from './App.js';
import { ClientContext } from './hooks/index.js';
import { LanguageProvider } from './i18n/index.js';
import { canonicalAddress } from './router.js';
import './styles.css';

canonicalAddress();
registerSW({ immediate: true });

const client = createClient({ baseUrl: '' });

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <ClientContext.Provider value={client}>
      <LanguageProvider>
        <App />
      </LanguageProvider>
    </ClientContext.Provider>
  </StrictMode>,
);
