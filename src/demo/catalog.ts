/**
 * The fixed vocabulary of the demo world: product categories and products, interest topics,
 * occupations, pets, diets, regions. Kept apart from the generator so the trait pipeline's
 * evaluation scripts can import the same lists (e.g. to score an extractor's labels).
 */

export const CATEGORIES = [
  'outdoor_gear',
  'kitchen',
  'electronics',
  'cameras',
  'gaming',
  'garden',
  'fitness',
  'cycling',
  'running',
  'music',
  'books',
  'crafts',
  'travel',
  'pet_supplies',
  'baby',
  'home',
  'fashion',
  'grocery',
  'tools',
  'beauty',
] as const;
export type Category = (typeof CATEGORIES)[number];

export interface Product {
  id: string;
  name: string;
  category: Category;
  /** list price in EUR-equivalent units before the user's price level and currency */
  basePrice: number;
}

const PRODUCT_NAMES: Record<Category, [string, number][]> = {
  outdoor_gear: [
    ['waterproof hiking boots', 129],
    ['trekking poles', 49],
    ['35l daypack', 79],
    ['insulated jacket', 159],
    ['two-person tent', 219],
    ['headlamp', 29],
    ['merino base layer', 65],
    ['water filter', 39],
    ['fly fishing rod', 189],
    ['climbing harness', 69],
  ],
  kitchen: [
    ['blender', 89],
    ['chef knife', 59],
    ['cast iron skillet', 45],
    ['stand mixer', 299],
    ['espresso machine', 349],
    ['coffee grinder', 79],
    ['dutch oven', 119],
    ['air fryer', 99],
    ['home brewing kit', 69],
    ['silicone baking mats', 19],
  ],
  electronics: [
    ['wireless earbuds', 99],
    ['smartwatch', 249],
    ['e-reader', 129],
    ['bluetooth speaker', 59],
    ['usb-c charger', 25],
    ['noise cancelling headphones', 279],
    ['tablet', 329],
    ['projector', 399],
  ],
  cameras: [
    ['mirrorless camera', 899],
    ['50mm prime lens', 229],
    ['travel tripod', 89],
    ['camera bag', 59],
    ['sd card 128gb', 25],
    ['lens filter set', 39],
    ['action camera', 299],
  ],
  gaming: [
    ['game controller', 59],
    ['gaming headset', 89],
    ['mechanical keyboard', 119],
    ['gaming mouse', 49],
    ['console', 499],
    ['board game', 39],
    ['jigsaw puzzle 1000 pieces', 19],
  ],
  garden: [
    ['pruning shears', 29],
    ['raised garden bed', 99],
    ['hose reel', 49],
    ['seed starter kit', 24],
    ['garden gloves', 15],
    ['compost bin', 69],
    ['bird feeder', 25],
  ],
  fitness: [
    ['yoga mat', 35],
    ['resistance bands', 19],
    ['adjustable dumbbells', 199],
    ['foam roller', 25],
    ['yoga blocks', 18],
    ['kettlebell 12kg', 45],
    ['fitness tracker', 129],
  ],
  cycling: [
    ['bike helmet', 79],
    ['bike lights set', 39],
    ['cycling jersey', 59],
    ['padded cycling shorts', 55],
    ['bike pump', 29],
    ['road bike tyres', 45],
    ['bike lock', 49],
  ],
  running: [
    ['trail running shoes', 139],
    ['road running shoes', 119],
    ['running vest', 89],
    ['gps running watch', 249],
    ['running socks 3-pack', 19],
    ['reflective running jacket', 79],
  ],
  music: [
    ['acoustic guitar', 249],
    ['guitar strings', 12],
    ['vinyl record', 29],
    ['turntable', 199],
    ['studio headphones', 129],
    ['ukulele', 59],
    ['guitar tuner', 15],
  ],
  books: [
    ['field guide to birds', 24],
    ['cookbook', 29],
    ['fantasy novel', 15],
    ['travel guide', 19],
    ['photography handbook', 35],
    ['knitting patterns book', 22],
    ['biography', 18],
  ],
  crafts: [
    ['merino yarn bundle', 39],
    ['knitting needles set', 25],
    ['watercolour paint set', 35],
    ['sketchbook', 12],
    ['acrylic paints', 29],
    ['embroidery kit', 19],
    ['woodcarving knife set', 45],
  ],
  travel: [
    ['carry-on suitcase', 149],
    ['travel pillow', 25],
    ['packing cubes', 29],
    ['universal adapter', 22],
    ['passport wallet', 19],
    ['rolling duffel bag', 99],
  ],
  pet_supplies: [
    ['dog bed', 59],
    ['cat scratching post', 45],
    ['chew toys', 12],
    ['dog lead', 19],
    ['grain-free dog food', 49],
    ['cat litter', 15],
    ['parrot cage', 129],
    ['bird seed mix', 14],
    ['rabbit hutch', 139],
  ],
  baby: [
    ['baby monitor', 99],
    ['pram', 449],
    ['nappy bag', 49],
    ['baby carrier', 89],
    ['bottle steriliser', 59],
    ['muslin cloths', 15],
    ['cot mobile', 29],
  ],
  home: [
    ['memory foam pillow', 49],
    ['bath towels set', 39],
    ['desk lamp', 45],
    ['storage boxes', 29],
    ['duvet', 89],
    ['moving boxes 20-pack', 35],
    ['scented candle', 19],
  ],
  fashion: [
    ['rain jacket', 99],
    ['wool jumper', 69],
    ['leather belt', 35],
    ['sneakers', 89],
    ['linen shirt', 49],
    ['suit', 299],
    ['dress', 79],
  ],
  grocery: [
    ['vegan protein powder', 35],
    ['gluten-free pasta', 4],
    ['keto snack bars', 19],
    ['oat milk 6-pack', 12],
    ['specialty coffee beans', 16],
    ['olive oil', 14],
    ['whey protein', 39],
    ['lentil chips', 3],
  ],
  tools: [
    ['cordless drill', 129],
    ['workbench', 199],
    ['chisel set', 49],
    ['tool box', 59],
    ['sandpaper assortment', 12],
    ['stud finder', 29],
  ],
  beauty: [
    ['sunscreen spf 50', 18],
    ['face moisturiser', 29],
    ['shampoo bar', 12],
    ['lip balm', 5],
    ['beard oil', 19],
    ['hand cream', 11],
  ],
};

export const PRODUCTS: readonly Product[] = CATEGORIES.flatMap((category, ci) =>
  PRODUCT_NAMES[category].map(([name, basePrice], i) => ({
    id: `p${String(ci + 1).padStart(2, '0')}${String(i + 1).padStart(3, '0')}`,
    name,
    category,
    basePrice,
  })),
);

export const PRODUCTS_BY_CATEGORY: Readonly<Record<Category, readonly Product[]>> = CATEGORIES.reduce(
  (acc, c) => {
    acc[c] = PRODUCTS.filter((p) => p.category === c);
    return acc;
  },
  {} as Record<Category, readonly Product[]>,
);

export interface Topic {
  id: string;
  /** the object of "i love ...", "i'm into ..." */
  like: string;
  /** an activity clause: "i spend my weekends ..." */
  doing: string;
  categories: Category[];
  /** search queries; {size}, {city}, {n} are slots */
  queries: string[];
}

export const TOPICS: readonly Topic[] = [
  {
    id: 'hiking',
    like: 'hiking',
    doing: 'hiking in the hills',
    categories: ['outdoor_gear', 'travel'],
    queries: ['waterproof hiking boots size {size}', 'lightweight daypack', 'trekking poles carbon', 'hiking trails near {city}', 'best hiking socks', 'gaiters for muddy trails'],
  },
  {
    id: 'trail_running',
    like: 'trail running',
    doing: 'running trails',
    categories: ['running', 'outdoor_gear'],
    queries: ['trail running shoes size {size}', 'running vest with bladder', 'grippy trail shoes for mud', 'ultra marathon nutrition'],
  },
  {
    id: 'running',
    like: 'running',
    doing: 'out running',
    categories: ['running', 'fitness'],
    queries: ['road running shoes size {size}', 'gps running watch', 'half marathon training plan', 'reflective running jacket'],
  },
  {
    id: 'cooking',
    like: 'cooking',
    doing: 'trying new recipes',
    categories: ['kitchen', 'grocery', 'books'],
    queries: ['cast iron skillet', 'chef knife german steel', 'dutch oven 5 litre', 'cookbook italian'],
  },
  {
    id: 'baking',
    like: 'baking',
    doing: 'baking sourdough',
    categories: ['kitchen', 'grocery'],
    queries: ['stand mixer', 'sourdough banneton', 'silicone baking mats', 'bread flour 5kg'],
  },
  {
    id: 'photography',
    like: 'photography',
    doing: 'taking photos',
    categories: ['cameras', 'books'],
    queries: ['mirrorless camera body', '50mm prime lens', 'travel tripod carbon', 'nd filter {n}mm'],
  },
  {
    id: 'gaming',
    like: 'gaming',
    doing: 'playing video games',
    categories: ['gaming', 'electronics'],
    queries: ['gaming headset wireless', 'mechanical keyboard brown switches', 'game controller for pc', 'console bundle'],
  },
  {
    id: 'board_games',
    like: 'board games',
    doing: 'playing board games with friends',
    categories: ['gaming', 'books'],
    queries: ['board game for 4 players', 'strategy board game', 'cooperative board games', 'jigsaw puzzle 1000 pieces'],
  },
  {
    id: 'gardening',
    like: 'gardening',
    doing: 'pottering in the garden',
    categories: ['garden', 'tools'],
    queries: ['raised garden bed', 'tomato seeds', 'pruning shears', 'compost bin small'],
  },
  { id: 'yoga', like: 'yoga', doing: 'doing yoga', categories: ['fitness', 'beauty'], queries: ['non slip yoga mat', 'yoga blocks cork', 'yoga leggings', 'beginner yoga props'] },
  {
    id: 'cycling',
    like: 'cycling',
    doing: 'out on the bike',
    categories: ['cycling', 'fitness'],
    queries: ['road bike tyres {n}mm', 'bike lights usb', 'padded cycling shorts', 'bike helmet mips'],
  },
  {
    id: 'jazz',
    like: 'jazz',
    doing: 'listening to jazz records',
    categories: ['music', 'electronics'],
    queries: ['jazz vinyl', 'turntable with speakers', 'blue note records', 'miles davis kind of blue vinyl'],
  },
  {
    id: 'guitar',
    like: 'playing guitar',
    doing: 'practising guitar',
    categories: ['music'],
    queries: ['acoustic guitar beginner', 'guitar strings light gauge', 'clip on guitar tuner', 'guitar capo'],
  },
  {
    id: 'fishing',
    like: 'fishing',
    doing: 'fishing at the lake',
    categories: ['outdoor_gear'],
    queries: ['fly fishing rod', 'fishing waders', 'tackle box', 'fishing licence {city}'],
  },
  {
    id: 'knitting',
    like: 'knitting',
    doing: 'knitting',
    categories: ['crafts', 'books'],
    queries: ['merino yarn', 'circular knitting needles {n}mm', 'knitting patterns jumper', 'chunky yarn'],
  },
  { id: 'painting', like: 'painting', doing: 'painting watercolours', categories: ['crafts'], queries: ['watercolour paint set', 'sketchbook a4', 'acrylic paints', 'easel'] },
  {
    id: 'travel',
    like: 'travelling',
    doing: 'travelling',
    categories: ['travel', 'fashion'],
    queries: ['carry-on suitcase', 'packing cubes', 'universal travel adapter', 'travel pillow memory foam'],
  },
  {
    id: 'camping',
    like: 'camping',
    doing: 'camping',
    categories: ['outdoor_gear', 'travel'],
    queries: ['two person tent', 'camping stove', 'sleeping bag 3 season', 'headlamp rechargeable'],
  },
  {
    id: 'climbing',
    like: 'climbing',
    doing: 'bouldering',
    categories: ['outdoor_gear', 'fitness'],
    queries: ['climbing harness', 'climbing shoes size {size}', 'chalk bag', 'bouldering crash pad'],
  },
  { id: 'reading', like: 'reading', doing: 'reading', categories: ['books', 'electronics'], queries: ['fantasy novel', 'e-reader waterproof', 'book club picks', 'biography'] },
  {
    id: 'birdwatching',
    like: 'birdwatching',
    doing: 'birdwatching',
    categories: ['books', 'outdoor_gear', 'garden'],
    queries: ['binoculars 8x42', 'field guide to birds', 'bird feeder squirrel proof', 'bird seed'],
  },
  { id: 'woodworking', like: 'woodworking', doing: 'in the workshop', categories: ['tools'], queries: ['chisel set', 'cordless drill', 'workbench', 'sandpaper assortment'] },
  {
    id: 'coffee',
    like: 'coffee',
    doing: 'dialling in espresso',
    categories: ['kitchen', 'grocery'],
    queries: ['espresso machine', 'burr coffee grinder', 'specialty coffee beans', 'milk frother'],
  },
  {
    id: 'fitness',
    like: 'working out',
    doing: 'at the gym',
    categories: ['fitness', 'grocery'],
    queries: ['adjustable dumbbells', 'whey protein', 'resistance bands', 'kettlebell {n}kg'],
  },
  { id: 'skiing', like: 'skiing', doing: 'skiing', categories: ['outdoor_gear', 'fashion', 'travel'], queries: ['ski goggles', 'ski socks', 'insulated jacket', 'ski gloves'] },
];

export interface Occupation {
  id: string;
  title: string;
  /** where they work, used as "I'm a nurse {place}" */
  places: string[];
  /** a consequence, used as "as a nurse, {context}" */
  contexts: string[];
}

export const OCCUPATIONS: readonly Occupation[] = [
  {
    id: 'nurse',
    title: 'nurse',
    places: ['at the city hospital', 'on a cardiology ward', 'in A&E'],
    contexts: ["i'm on my feet for twelve-hour shifts", 'i work a lot of night shifts'],
  },
  {
    id: 'software_engineer',
    title: 'software engineer',
    places: ['at a fintech startup', 'at a big tech company', 'for a small agency'],
    contexts: ['i sit at a desk all day', 'i spend way too long staring at screens'],
  },
  {
    id: 'teacher',
    title: 'teacher',
    places: ['at a primary school', 'at the local secondary school'],
    contexts: ['i only get to shop during the school holidays', 'my budget is pretty tight'],
  },
  { id: 'accountant', title: 'accountant', places: ['at a mid-size firm', 'for a logistics company'], contexts: ['tax season eats all my time', 'i check every receipt twice'] },
  { id: 'chef', title: 'chef', places: ['in a busy restaurant', 'at a hotel kitchen'], contexts: ['i know a good knife when i see one', 'i work most weekends'] },
  {
    id: 'electrician',
    title: 'electrician',
    places: ['for a building contractor', 'running my own business'],
    contexts: ['i need gear that survives a building site', "i'm in the van all day"],
  },
  {
    id: 'graphic_designer',
    title: 'graphic designer',
    places: ['at a design studio', 'as a freelancer'],
    contexts: ['i care a lot about how things look', 'colour accuracy matters to me'],
  },
  { id: 'doctor', title: 'doctor', places: ['at a GP practice', 'at the university hospital'], contexts: ['my hours are all over the place', 'i rarely have time to shop'] },
  { id: 'student', title: 'student', places: ['at the university', 'studying engineering'], contexts: ['money is tight', 'i live in a tiny flat'] },
  { id: 'lawyer', title: 'lawyer', places: ['at a corporate firm', 'in family law'], contexts: ['i work long hours', 'i read every bit of small print'] },
  { id: 'plumber', title: 'plumber', places: ['for a local firm', 'self-employed'], contexts: ["i'm on my knees under sinks all day", 'i go through work boots fast'] },
  {
    id: 'pharmacist',
    title: 'pharmacist',
    places: ['at a high street pharmacy', 'in a hospital pharmacy'],
    contexts: ['i stand behind a counter all day', 'i read ingredient lists closely'],
  },
  {
    id: 'marketing_manager',
    title: 'marketing manager',
    places: ['at a retail brand', 'for a software company'],
    contexts: ['i notice every marketing email you send', 'i travel a lot for work'],
  },
  {
    id: 'data_scientist',
    title: 'data scientist',
    places: ['at an insurance company', 'at a research lab'],
    contexts: ['i spend all day in spreadsheets and notebooks', 'i like comparing specs'],
  },
  { id: 'architect', title: 'architect', places: ['at a small practice', 'for a large firm'], contexts: ['i care about good design', 'i visit building sites a lot'] },
  { id: 'police_officer', title: 'police officer', places: ['in the city', 'on the night patrol'], contexts: ['i work rotating shifts', 'i need stuff that is tough'] },
  {
    id: 'firefighter',
    title: 'firefighter',
    places: ['at the local station', 'with the county fire service'],
    contexts: ['i work 24-hour shifts', 'i need to stay fit for the job'],
  },
  {
    id: 'retail_manager',
    title: 'retail manager',
    places: ['at a supermarket', 'for a clothing store'],
    contexts: ["i'm on the shop floor all day", 'i know how returns should work'],
  },
  { id: 'journalist', title: 'journalist', places: ['at a regional newspaper', 'as a freelancer'], contexts: ['i write on the go a lot', 'deadlines run my life'] },
  { id: 'mechanic', title: 'mechanic', places: ['at a garage', 'at a car dealership'], contexts: ['my hands are always covered in grease', 'i need proper tools'] },
];

export const PET_SPECIES = ['dog', 'cat', 'parrot', 'rabbit', 'hamster', 'guinea pig'] as const;
export type PetSpecies = (typeof PET_SPECIES)[number];
export const PET_NAMES = [
  'Max',
  'Luna',
  'Bella',
  'Charlie',
  'Milo',
  'Daisy',
  'Rocky',
  'Coco',
  'Pepper',
  'Biscuit',
  'Nala',
  'Oscar',
  'Ziggy',
  'Mango',
  'Olive',
  'Teddy',
  'Poppy',
  'Kiwi',
];
export const PET_THINGS: Record<PetSpecies, string[]> = {
  dog: ['long walks', 'squeaky toys', 'chasing squirrels', 'the beach'],
  cat: ['sleeping on my keyboard', 'cardboard boxes', 'the sunny windowsill'],
  parrot: ['whistling along to the radio', 'shredding paper'],
  rabbit: ['chewing cables', 'fresh hay'],
  hamster: ['running on the wheel all night'],
  'guinea pig': ['squeaking when the fridge opens', 'fresh veg'],
};

export const DIETS = ['omnivore', 'vegetarian', 'vegan', 'gluten_free', 'keto'] as const;
export type Diet = (typeof DIETS)[number];

export const FAMILY_STATUSES = ['single', 'in_relationship', 'married', 'married_with_kids', 'single_parent'] as const;
export type FamilyStatus = (typeof FAMILY_STATUSES)[number];

export const LANGUAGES = ['en', 'de', 'fr', 'es', 'nl'] as const;
export type Language = (typeof LANGUAGES)[number];
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', de: 'German', fr: 'French', es: 'Spanish', nl: 'Dutch' };

export interface Region {
  id: string;
  country: string;
  /** hours from UTC (standard time; good enough for time-of-day patterns) */
  utcOffset: number;
  cities: string[];
  languages: [Language, number][];
  currency: string;
  /** price multiplier for the currency */
  fx: number;
  weight: number;
}

export const REGIONS: readonly Region[] = [
  {
    id: 'us_west',
    country: 'US',
    utcOffset: -8,
    cities: ['Seattle', 'Portland', 'San Francisco', 'Denver'],
    languages: [
      ['en', 0.88],
      ['es', 0.12],
    ],
    currency: 'USD',
    fx: 1.08,
    weight: 12,
  },
  {
    id: 'us_east',
    country: 'US',
    utcOffset: -5,
    cities: ['New York', 'Boston', 'Atlanta', 'Philadelphia'],
    languages: [
      ['en', 0.9],
      ['es', 0.1],
    ],
    currency: 'USD',
    fx: 1.08,
    weight: 16,
  },
  { id: 'uk', country: 'GB', utcOffset: 0, cities: ['London', 'Manchester', 'Leeds', 'Bristol', 'Glasgow'], languages: [['en', 1]], currency: 'GBP', fx: 0.85, weight: 18 },
  { id: 'ireland', country: 'IE', utcOffset: 0, cities: ['Dublin', 'Cork', 'Galway'], languages: [['en', 1]], currency: 'EUR', fx: 1, weight: 4 },
  {
    id: 'germany',
    country: 'DE',
    utcOffset: 1,
    cities: ['Berlin', 'Munich', 'Hamburg', 'Cologne'],
    languages: [
      ['de', 0.8],
      ['en', 0.2],
    ],
    currency: 'EUR',
    fx: 1,
    weight: 14,
  },
  {
    id: 'france',
    country: 'FR',
    utcOffset: 1,
    cities: ['Paris', 'Lyon', 'Marseille', 'Toulouse'],
    languages: [
      ['fr', 0.85],
      ['en', 0.15],
    ],
    currency: 'EUR',
    fx: 1,
    weight: 9,
  },
  {
    id: 'spain',
    country: 'ES',
    utcOffset: 1,
    cities: ['Madrid', 'Barcelona', 'Valencia', 'Seville'],
    languages: [
      ['es', 0.85],
      ['en', 0.15],
    ],
    currency: 'EUR',
    fx: 1,
    weight: 7,
  },
  {
    id: 'netherlands',
    country: 'NL',
    utcOffset: 1,
    cities: ['Amsterdam', 'Utrecht', 'Rotterdam'],
    languages: [
      ['nl', 0.65],
      ['en', 0.35],
    ],
    currency: 'EUR',
    fx: 1,
    weight: 6,
  },
  {
    id: 'canada',
    country: 'CA',
    utcOffset: -5,
    cities: ['Toronto', 'Vancouver', 'Montreal', 'Calgary'],
    languages: [
      ['en', 0.75],
      ['fr', 0.25],
    ],
    currency: 'CAD',
    fx: 1.47,
    weight: 7,
  },
  { id: 'australia', country: 'AU', utcOffset: 10, cities: ['Sydney', 'Melbourne', 'Brisbane', 'Perth'], languages: [['en', 1]], currency: 'AUD', fx: 1.65, weight: 7 },
];

export const PRICE_SENSITIVITIES = ['low', 'medium', 'high'] as const;
export type PriceSensitivity = (typeof PRICE_SENSITIVITIES)[number];

export const CHANNELS = ['email', 'sms', 'push', 'phone', 'chat'] as const;
export type Channel = (typeof CHANNELS)[number];

export const LIFE_EVENTS = ['moving_house', 'new_baby', 'wedding', 'new_job'] as const;
export type LifeEventKind = (typeof LIFE_EVENTS)[number];
/** Categories a life event pulls purchases towards after it happens. */
export const LIFE_EVENT_CATEGORIES: Record<LifeEventKind, Category[]> = {
  moving_house: ['home', 'tools'],
  new_baby: ['baby'],
  wedding: ['fashion', 'home'],
  new_job: ['fashion', 'electronics'],
};

export const SKILL_LEVELS = ['beginner', 'intermediate', 'expert'] as const;
export type SkillLevel = (typeof SKILL_LEVELS)[number];

export const SUPPORT_ISSUES = ['late_delivery', 'broken_item', 'double_charge', 'wrong_item', 'refund_delay', 'login_problem'] as const;
export type SupportIssueKind = (typeof SUPPORT_ISSUES)[number];

export const SENTIMENTS = ['positive', 'neutral', 'negative'] as const;
export type Sentiment = (typeof SENTIMENTS)[number];

export const FIRST_NAMES = [
  'Anna',
  'Ben',
  'Chloe',
  'Daniel',
  'Emma',
  'Felix',
  'Grace',
  'Hugo',
  'Isla',
  'Jack',
  'Katie',
  'Liam',
  'Maya',
  'Noah',
  'Olivia',
  'Pablo',
  'Quinn',
  'Rosa',
  'Sam',
  'Tara',
  'Umar',
  'Vera',
  'Will',
  'Yara',
  'Zoe',
  'Lukas',
  'Marie',
  'Sofia',
  'Jan',
  'Priya',
  'Kenji',
  'Amara',
];
export const LAST_NAMES = [
  'Smith',
  'Jones',
  'Müller',
  'Martin',
  'García',
  'de Vries',
  'Brown',
  'Taylor',
  'Schmidt',
  'Dubois',
  'López',
  'Jansen',
  'Wilson',
  'Murphy',
  'Kelly',
  'Chen',
  'Patel',
  'Nguyen',
  'Rossi',
  'Novak',
];
