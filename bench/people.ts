/**
 * A labelled generator of people as registrars write them down: several languages' names, and a
 * share of people registered twice with the errors real duplicates carry (typos, sound-alike
 * spellings, swapped first name and surname, missing and shifted dates, transposed id digits).
 * Every record says which person it is, so precision and recall can be counted. Seeded: the same
 * people on every run.
 */
import { FIRST_NAMES, pick, SURNAMES_LIST, typo } from './fixtures.js';

/** Given names and surnames by language, with the spellings of one name that sound alike. */
const NAMES = {
  bantu: { first: FIRST_NAMES, last: SURNAMES_LIST },
  arabic: {
    first: `Mohamed Ahmed Fatima Aisha Hassan Omar Khadija Yusuf Ibrahim Amina Zainab Mariam Ali
      Mustafa Hamza Layla Salma Karim Rashid Nadia Samira Tariq Bilal Hafsa Idris Jamila`.split(
      /\s+/,
    ),
    last: `Hassan Ali Abdi Omar Osman Farah Mohamud Warsame Ibrahim Yusuf Aden Jama Hersi Nur
      Elmi Haji Said Suleiman Khalil Mansour Haddad Bakr`.split(/\s+/),
  },
  french: {
    first: `Catherine Marie Jean Pierre Claire Sophie Louise Camille Antoine Julien Mathieu
      Isabelle Nathalie Stéphane Hélène Amélie Benoît François Céline Thérèse`.split(/\s+/),
    last: `Dubois Martin Bernard Lefebvre Moreau Laurent Girard Rousseau Fontaine Mercier Lambert
      Bonnet Chevalier Gauthier Perrin Lemaire`.split(/\s+/),
  },
  vietnamese: {
    first: `Anh Minh Linh Hương Thảo Tuấn Dũng Hùng Lan Mai Hải Nam Phương Quang Trang Vy`.split(
      /\s+/,
    ),
    last: `Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý`.split(/\s+/),
  },
  iberian: {
    first: `José María João Ana Carlos Lucía Miguel Sofía Pedro Inês Javier Beatriz Luís Carmen
      Diego Raquel`.split(/\s+/),
    last: `García Fernández González Rodríguez López Martínez Pereira Gonçalves Oliveira Santos
      Sánchez Ramírez Costa Ferreira`.split(/\s+/),
  },
} as const;
const LANGUAGES: [keyof typeof NAMES, number][] = [
  ['bantu', 0.55],
  ['arabic', 0.15],
  ['french', 0.1],
  ['vietnamese', 0.1],
  ['iberian', 0.1],
];

/** Spellings a registrar may hear for the same name. */
const SOUND_ALIKE: Record<string, string[]> = {
  Mohamed: ['Muhammad', 'Mohammed', 'Mohamad'],
  Ahmed: ['Ahmad'],
  Aisha: ['Aicha', 'Aysha'],
  Fatima: ['Fatuma', 'Fatimah'],
  Yusuf: ['Yousef', 'Youssef'],
  Omar: ['Umar'],
  Hassan: ['Hasan'],
  Khadija: ['Khadijah', 'Kadija'],
  Catherine: ['Katherine', 'Kathrine'],
  Sophie: ['Sofie'],
  Stéphane: ['Stefane'],
  Nguyễn: ['Nguyen', 'Ngyuen'],
  Chanda: ['Tchanda'],
  Mwansa: ['Mwanza'],
  Mulenga: ['Mulengah'],
  Joseph: ['Josef'],
  Amina: ['Aminah', 'Amena'],
  Mariam: ['Maryam', 'Miriam'],
  Zainab: ['Zeinab'],
  Carlos: ['Karlos'],
  Luís: ['Luiz'],
};

export interface Person {
  /** Which person this is: two records with the same person are duplicates. */
  person: number;
  firstName: string;
  surname: string;
  dob: string | null;
  motherFirstName: string;
  nid: string | null;
  sex: 'female' | 'male';
  /** The errors this record carries against the person's first record. */
  errors: string[];
}

function weighted<T>(random: () => number, choices: [T, number][]): T {
  let r = random();
  for (const [value, weight] of choices) if ((r -= weight) < 0) return value;
  return (choices[choices.length - 1] as [T, number])[0];
}

const pad = (n: number) => String(n).padStart(2, '0');
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

function soundAlike(name: string, random: () => number): string {
  const variants = SOUND_ALIKE[name];
  return variants ? pick(random, variants) : name;
}

/** A copy of the person's record as a second registrar wrote it: one to three errors. */
function misspelt(original: Person, random: () => number): Person {
  const copy: Person = { ...original, errors: [] };
  const errors = 1 + Math.floor(random() * random() * 3);
  for (let e = 0; e < errors; e++) {
    const kind = weighted<string>(random, [
      ['typo', 0.3],
      ['sound-alike', 0.15],
      ['swapped names', 0.1],
      ['missing date', 0.1],
      ['shifted date', 0.15],
      ['transposed id', 0.1],
      ['missing id', 0.1],
    ]);
    switch (kind) {
      case 'typo':
        if (random() < 0.5 && copy.firstName.length >= 4)
          copy.firstName = typo(copy.firstName, random);
        else if (copy.surname.length >= 4) copy.surname = typo(copy.surname, random);
        break;
      case 'sound-alike':
        copy.firstName = soundAlike(copy.firstName, random);
        copy.surname = soundAlike(copy.surname, random);
        break;
      case 'swapped names':
        [copy.firstName, copy.surname] = [copy.surname, copy.firstName];
        break;
      case 'missing date':
        copy.dob = null;
        break;
      case 'shifted date':
        if (copy.dob) {
          const [y, m, d] = copy.dob.split('-').map(Number) as [number, number, number];
          copy.dob =
            random() < 0.5 && d <= 12
              ? `${y}-${pad(d)}-${pad(m)}` // day and month swapped
              : isoDay(
                  Date.UTC(y, m - 1, d) +
                    (random() < 0.5 ? -1 : 1) * (1 + Math.floor(random() * 3)) * 86_400_000,
                );
        }
        break;
      case 'transposed id':
        if (copy.nid) {
          const i = Math.floor(random() * (copy.nid.length - 1));
          copy.nid = copy.nid.slice(0, i) + copy.nid[i + 1] + copy.nid[i] + copy.nid.slice(i + 2);
        }
        break;
      case 'missing id':
        copy.nid = null;
        break;
    }
    copy.errors.push(kind);
  }
  return copy;
}

/**
 * `count` records: people drawn from the name pools (so unrelated people share names, as they
 * do), a share of them registered twice with errors, and siblings (same surname and mother,
 * another first name and date of birth) and twins (same date too), who are not duplicates.
 */
export function people(count: number, random: () => number, duplicateShare = 0.15): Person[] {
  const records: Person[] = [];
  let person = 0;
  while (records.length < count) {
    const language = weighted(random, LANGUAGES);
    const pool = NAMES[language];
    const born = Date.UTC(1950, 0, 1) + Math.floor(random() * 75 * 365.25) * 86_400_000;
    const first: Person = {
      person: person++,
      firstName: pick(random, pool.first),
      surname: pick(random, pool.last),
      dob: isoDay(born),
      motherFirstName: pick(random, pool.first),
      nid: random() < 0.8 ? String(Math.floor(1e9 + random() * 8.99e9)) : null,
      sex: random() < 0.5 ? 'female' : 'male',
      errors: [],
    };
    records.push(first);
    const r = random();
    if (r < duplicateShare) records.push(misspelt(first, random));
    else if (r < duplicateShare + 0.05) {
      // A sibling or a twin: the family's names, another child.
      const twin = random() < 0.4;
      records.push({
        ...first,
        person: person++,
        firstName: pick(random, pool.first),
        dob: twin ? first.dob : isoDay(born + (1 + Math.floor(random() * 8)) * 365 * 86_400_000),
        nid: random() < 0.8 ? String(Math.floor(1e9 + random() * 8.99e9)) : null,
        errors: [twin ? 'twin' : 'sibling'],
      });
    }
  }
  return records.slice(0, count);
}

/** The pairs of records (by index) that are the same person. */
export function truePairs(records: Person[]): Set<string> {
  const byPerson = new Map<number, number[]>();
  records.forEach((r, i) => byPerson.set(r.person, [...(byPerson.get(r.person) ?? []), i]));
  const pairs = new Set<string>();
  for (const indexes of byPerson.values()) {
    for (let a = 0; a < indexes.length; a++)
      for (let b = a + 1; b < indexes.length; b++) pairs.add(`${indexes[a]}/${indexes[b]}`);
  }
  return pairs;
}
