import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { en, type Messages } from './en.js';
import { fr } from './fr.js';

export type { Messages } from './en.js';

export const LANGUAGES = { en, fr } as const;
export type Language = keyof typeof LANGUAGES;

export interface LanguageChoice {
  lang: Language;
  /** The locale dates and numbers are written in: the browser's, if it speaks the language. */
  locale: string;
  t: Messages;
  setLang(lang: Language): void;
}

const STORAGE_KEY = 'registra:language';

function initialLanguage(): Language {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored === 'en' || stored === 'fr') return stored;
  return navigator.language.toLowerCase().startsWith('fr') ? 'fr' : 'en';
}

function localeOf(lang: Language): string {
  const browser = navigator.language;
  return browser.toLowerCase().startsWith(lang) ? browser : lang === 'fr' ? 'fr-FR' : 'en-GB';
}

const LanguageContext = createContext<LanguageChoice | null>(null);

/** The person's language, kept on the device; the page's `lang` follows it. */
export function LanguageProvider({ children }: { children: ReactNode }) {
  const [lang, setLang] = useState<Language>(initialLanguage);
  useEffect(() => {
    document.documentElement.lang = lang;
    localStorage.setItem(STORAGE_KEY, lang);
  }, [lang]);
  return (
    <LanguageContext.Provider value={{ lang, locale: localeOf(lang), t: LANGUAGES[lang], setLang }}>
      {children}
    </LanguageContext.Provider>
  );
}

export function useLanguage(): LanguageChoice {
  const choice = useContext(LanguageContext);
  if (!choice) throw new Error('no LanguageProvider');
  return choice;
}

/** The app's own words in the person's language. */
export function useT(): Messages {
  return useLanguage().t;
}

/** A choice of language, for the login page and the person's menu. */
export function LanguagePicker({ id }: { id: string }) {
  const { lang, setLang, t } = useLanguage();
  return (
    <div className="language-picker">
      <label htmlFor={id}>{t.languageLabel}</label>
      <select id={id} value={lang} onChange={(e) => setLang(e.target.value as Language)}>
        {Object.entries(LANGUAGES).map(([code, messages]) => (
          <option key={code} value={code} lang={code}>
            {messages.language}
          </option>
        ))}
      </select>
    </div>
  );
}
