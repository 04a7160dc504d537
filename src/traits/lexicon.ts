/**
 * Word lists for the offline extractor: topics (with the surface forms and product words that point
 * to them), occupations, pets, languages. Plain data, kept apart from the matching code so the lists
 * can grow without touching the logic. All entries lower case.
 */

/** topic → surface forms (activities, objects, products). Multi-word forms are matched first. */
export const TOPICS: Readonly<Record<string, readonly string[]>> = {
  hiking: ['hiking', 'hike', 'hikes', 'hiker', 'hiking boots', 'hiking boot', 'trekking', 'trekking poles', 'trail', 'trails', 'backpacking', 'backpacker'],
  camping: ['camping', 'camp', 'tent', 'tents', 'sleeping bag', 'camping stove', 'campfire', 'camper'],
  running: ['running', 'run', 'runs', 'runner', 'jogging', 'jog', 'marathon', 'marathons', 'running shoes', 'half marathon', '5k', '10k'],
  cycling: ['cycling', 'biking', 'bike', 'bikes', 'bicycle', 'bicycles', 'bike ride', 'bike rides', 'mountain biking', 'cyclist', 'road bike', 'mountain bike'],
  swimming: ['swimming', 'swim', 'swimmer', 'swimsuit', 'goggles'],
  fitness: ['fitness', 'gym', 'working out', 'work out', 'workout', 'workouts', 'exercise', 'exercising', 'weightlifting', 'lifting weights', 'dumbbell', 'dumbbells', 'kettlebell', 'protein powder', 'crossfit', 'bodybuilding', 'treadmill', 'rowing machine', 'elliptical'],
  yoga: ['yoga', 'yoga mat', 'pilates'],
  reading: ['reading', 'read', 'books', 'book', 'novels', 'novel', 'kindle', 'library', 'reader', 'literature', 'journals'],
  writing: ['writing', 'write', 'poetry', 'poems', 'writer'],
  cooking: ['cooking', 'cook', 'cookbook', 'cookbooks', 'recipes', 'recipe', 'chef knife', 'cast iron', 'skillet', 'grilling', 'grill', 'bbq', 'barbecue', 'culinary'],
  baking: ['baking', 'bake', 'baker', 'cookies', 'stand mixer', 'bread baking', 'pastry', 'cakes'],
  photography: ['photography', 'photos', 'photo', 'camera', 'cameras', 'dslr', 'mirrorless', 'tripod', 'lens', 'lenses', 'photographer', 'taking pictures', 'pictures'],
  painting: ['painting', 'paint', 'canvas', 'easel', 'watercolor', 'watercolour', 'acrylics', 'painter'],
  drawing: ['drawing', 'draw', 'sketching', 'sketchbook'],
  art: ['art', 'arts', 'museums', 'museum', 'galleries', 'crafts', 'crafting'],
  music: ['music', 'songs', 'concerts', 'concert', 'bands', 'band', 'vinyl', 'records', 'headphones', 'listening to music'],
  singing: ['singing', 'sing', 'karaoke', 'choir', 'singer'],
  dancing: ['dancing', 'dance', 'ballet', 'salsa', 'dancer'],
  guitar: ['guitar', 'guitars', 'guitar strings', 'ukulele', 'bass guitar', 'guitarist'],
  piano: ['piano', 'keyboard piano', 'pianist'],
  drums: ['drums', 'drum', 'drummer'],
  gaming: ['gaming', 'video games', 'video game', 'videogames', 'games', 'gamer', 'ps5', 'playstation', 'xbox', 'nintendo', 'nintendo switch', 'twitch', 'streaming games', 'game controller'],
  board_games: ['board games', 'board game', 'chess', 'card games', 'puzzles', 'puzzle'],
  movies: ['movies', 'movie', 'films', 'film', 'cinema', 'horror movies', 'documentaries'],
  tv: ['tv', 'television', 'tv shows', 'shows', 'netflix', 'series', 'anime'],
  travel: ['travel', 'traveling', 'travelling', 'trips', 'trip', 'vacations', 'vacation', 'suitcase', 'luggage', 'backpack travel', 'flights', 'beach', 'beaches', 'road trips'],
  fishing: ['fishing', 'fishing rod', 'fishing rods', 'fishing reel', 'tackle', 'lures', 'fly fishing', 'fisherman'],
  hunting: ['hunting', 'hunt', 'hunter', 'deer hunting'],
  gardening: ['gardening', 'garden', 'gardens', 'plants', 'seeds', 'flowers', 'lawn mower', 'mowing', 'garden hose', 'gardener'],
  knitting: ['knitting', 'knit', 'yarn', 'crochet', 'crocheting', 'sewing', 'sew', 'sewing machine', 'quilting'],
  golf: ['golf', 'golfing', 'golf clubs', 'golf balls', 'golfer'],
  tennis: ['tennis', 'tennis racket', 'tennis racquet'],
  soccer: ['soccer', 'football boots', 'soccer ball'],
  football: ['football', 'nfl'],
  basketball: ['basketball', 'nba'],
  baseball: ['baseball', 'softball', 'mlb'],
  hockey: ['hockey', 'nhl'],
  skiing: ['skiing', 'ski', 'skis', 'snowboarding', 'snowboard', 'ski boots'],
  surfing: ['surfing', 'surf', 'surfboard', 'surfer'],
  climbing: ['climbing', 'rock climbing', 'bouldering', 'climbing shoes', 'climber'],
  kayaking: ['kayaking', 'kayak', 'kayaks', 'canoeing', 'canoe', 'paddle board', 'paddleboarding', 'kayaker', 'rowing'],
  sailing: ['sailing', 'sail', 'boat', 'boats', 'boating'],
  horse_riding: ['horseback riding', 'horse riding', 'riding horses', 'equestrian', 'saddle'],
  martial_arts: ['martial arts', 'karate', 'judo', 'boxing', 'kickboxing', 'mma', 'jiu jitsu', 'taekwondo', 'wrestling'],
  cars: ['cars', 'car', 'vintage cars', 'classic cars', 'racing', 'car racing', 'nascar', 'motorcycles', 'motorcycle', 'trucks', 'car parts'],
  fashion: ['fashion', 'clothes', 'shopping', 'shoes', 'handbags', 'dresses', 'jewelry', 'jewellery'],
  beauty: ['makeup', 'make up', 'lipstick', 'mascara', 'skincare', 'skin care', 'nail polish', 'cosmetics', 'hair dye'],
  technology: ['technology', 'tech', 'gadgets', 'computers', 'programming', 'coding', 'robots', 'robotics', 'laptop', 'smartphone'],
  science: ['science', 'astronomy', 'physics', 'chemistry', 'biology', 'telescope', 'space'],
  history: ['history', 'war documentaries', 'history books'],
  coffee: ['coffee', 'espresso', 'espresso machine', 'coffee beans', 'latte'],
  tea: ['tea', 'teas', 'green tea', 'fancy tea'],
  wine: ['wine', 'wines', 'red wine', 'white wine'],
  food: ['food', 'eating out', 'restaurants', 'pizza', 'sushi', 'burgers', 'mexican food', 'italian food', 'chinese food', 'steak', 'tacos', 'ice cream', 'chocolate'],
  animals: ['animals', 'wildlife', 'bird watching', 'birdwatching', 'bird watch', 'zoo'],
  pets: ['pet supplies', 'dog food', 'cat food', 'dog bed', 'leash', 'cat litter', 'dog toys', 'cat toys', 'aquarium', 'pet food'],
  parenting: ['baby stroller', 'stroller', 'diapers', 'crib', 'baby monitor', 'car seat', 'parenting'],
  volunteering: ['volunteering', 'volunteer', 'volunteer work', 'charity', 'soup kitchen', 'homeless shelter'],
  nature: ['nature', 'outdoors', 'the outdoors', 'national parks', 'mountains', 'forest', 'woods'],
  home_improvement: ['diy', 'woodworking', 'power tools', 'drill', 'home improvement', 'renovating'],
  languages: ['learning languages', 'languages', 'language learning'],
  vegan_food: ['vegan food', 'vegan recipes', 'vegan snacks', 'plant-based food', 'plant based food', 'vegan protein', 'vegan'],
  comics: ['comics', 'comic books', 'manga', 'superheroes'],
  collecting: ['collecting', 'stamps', 'coins', 'antiques'],
  family_time: ['spending time with my family', 'spend time with my family', 'spending time with family', 'family time', 'my family'],
};

/** Topics whose single generic surface word is too ambiguous alone in a search query. */
export const WEAK_SEARCH_FORMS: ReadonlySet<string> = new Set(['run', 'runs', 'read', 'trail', 'lens', 'car', 'cars', 'shoes', 'boat', 'camp', 'space', 'tech', 'shows', 'series', 'records', 'band', 'bands', 'game', 'games', 'book', 'drill', 'garden', 'paint', 'photo', 'food', 'beach', 'trip', 'shopping', 'sail', 'surf', 'ski', 'hunt', 'draw', 'write', 'cook', 'bake', 'sing', 'dance', 'swim', 'hike', 'jog', 'sew', 'knit', 'my family', 'library', 'drum', 'shows']);

/** Activity verbs (base form) → topic; "i love to hike", "i hike", "i go hiking". */
export const ACTIVITY_VERBS: Readonly<Record<string, string>> = {
  hike: 'hiking', run: 'running', jog: 'running', swim: 'swimming', cook: 'cooking', bake: 'baking', read: 'reading', write: 'writing', paint: 'painting', draw: 'drawing',
  sing: 'singing', dance: 'dancing', travel: 'travel', knit: 'knitting', crochet: 'knitting', sew: 'knitting', garden: 'gardening', fish: 'fishing', hunt: 'hunting', surf: 'surfing',
  ski: 'skiing', snowboard: 'skiing', skate: 'skating', camp: 'camping', climb: 'climbing', bike: 'cycling', cycle: 'cycling', shop: 'shopping', golf: 'golf', bowl: 'bowling',
  sail: 'sailing', kayak: 'kayaking', canoe: 'kayaking', meditate: 'meditation', volunteer: 'volunteering', workout: 'fitness', exercise: 'fitness', grill: 'cooking', bbq: 'cooking',
  photograph: 'photography', game: 'gaming', blog: 'blogging', wrestle: 'wrestling', box: 'boxing', gamble: 'gambling', craft: 'crafting',
};

/** Verbs whose object names the interest ("i like to play guitar", "i love watching movies"). */
export const LIGHT_VERBS: ReadonlySet<string> = new Set([
  'go', 'play', 'watch', 'listen', 'do', 'make', 'spend', 'work', 'try', 'visit', 'see', 'attend', 'collect', 'build', 'ride', 'eat', 'drink', 'take', 'learn', 'explore', 'study',
  'going', 'playing', 'watching', 'listening', 'doing', 'making', 'spending', 'working', 'trying', 'visiting', 'seeing', 'attending', 'collecting', 'building', 'riding', 'eating',
  'drinking', 'taking', 'learning', 'exploring', 'studying', 'get', 'getting',
]);

/** Occupations: canonical name → surface forms (singular). Multi-word forms are matched on the NP tail. */
export const OCCUPATIONS: Readonly<Record<string, readonly string[]>> = {
  nurse: ['nurse', 'rn', 'nurse practitioner'], teacher: ['teacher', 'school teacher', 'schoolteacher', 'kindergarten teacher', 'high school teacher', 'substitute teacher', 'art teacher', 'music teacher', 'math teacher'],
  doctor: ['doctor', 'physician', 'gp', 'er doctor', 'pediatrician', 'surgeon'], dentist: ['dentist', 'dental hygienist'], pharmacist: ['pharmacist'], veterinarian: ['veterinarian', 'vet'],
  'software engineer': ['software engineer', 'software developer', 'developer', 'programmer', 'web developer', 'coder', 'computer programmer', 'software dev', 'game developer', 'full stack developer'],
  engineer: ['engineer', 'mechanical engineer', 'civil engineer', 'electrical engineer', 'chemical engineer'], 'recording engineer': ['recording engineer', 'sound engineer', 'audio engineer'],
  'data scientist': ['data scientist', 'data analyst', 'analyst'], designer: ['designer', 'graphic designer', 'web designer', 'interior designer', 'fashion designer'], architect: ['architect'],
  lawyer: ['lawyer', 'attorney', 'paralegal', 'solicitor', 'barrister'], accountant: ['accountant', 'bookkeeper', 'cpa', 'auditor'], banker: ['banker', 'bank teller', 'teller'],
  cashier: ['cashier'], chef: ['chef', 'cook', 'line cook', 'pastry chef', 'sous chef'], baker: ['baker'], waiter: ['waiter', 'waitress', 'server'], bartender: ['bartender'], barista: ['barista'],
  driver: ['driver', 'truck driver', 'trucker', 'bus driver', 'taxi driver', 'uber driver', 'delivery driver', 'race car driver'], pilot: ['pilot'], 'flight attendant': ['flight attendant', 'stewardess'],
  mechanic: ['mechanic'], electrician: ['electrician'], plumber: ['plumber'], carpenter: ['carpenter'], 'construction worker': ['construction worker', 'builder', 'roofer'], welder: ['welder'],
  farmer: ['farmer', 'rancher'], firefighter: ['firefighter', 'fireman'], 'police officer': ['police officer', 'policeman', 'policewoman', 'cop', 'detective', 'sheriff'],
  soldier: ['soldier', 'marine', 'sailor', 'army officer', 'army soldier'], paramedic: ['paramedic', 'emt'], psychologist: ['psychologist', 'therapist', 'counselor', 'counsellor', 'psychiatrist'],
  scientist: ['scientist', 'researcher', 'biologist', 'chemist', 'physicist'], professor: ['professor', 'lecturer'], librarian: ['librarian'], writer: ['writer', 'author', 'novelist', 'poet', 'copywriter'],
  journalist: ['journalist', 'reporter', 'editor'], photographer: ['photographer'], artist: ['artist', 'painter', 'illustrator', 'animator', 'tattoo artist', 'sculptor'],
  musician: ['musician', 'singer', 'drummer', 'guitarist', 'pianist', 'rapper', 'dj', 'composer'], dancer: ['dancer'], actor: ['actor', 'actress', 'stunt double', 'stuntman'], model: ['model'],
  student: ['student', 'college student', 'graduate student', 'grad student', 'high school student', 'undergrad', 'freshman', 'sophomore', 'phd student', 'medical student', 'economics major'],
  custodian: ['custodian', 'janitor', 'cleaner', 'housekeeper'], nanny: ['nanny', 'babysitter', 'au pair'], receptionist: ['receptionist', 'secretary', 'administrative assistant'],
  manager: ['manager', 'supervisor', 'project manager', 'product manager', 'store manager'], salesperson: ['salesman', 'saleswoman', 'salesperson', 'sales rep', 'sales representative'],
  'real estate agent': ['realtor', 'real estate agent'], consultant: ['consultant'], entrepreneur: ['entrepreneur', 'business owner', 'small business owner', 'ceo', 'founder'],
  coach: ['coach', 'swim coach', 'personal trainer', 'trainer', 'fitness instructor', 'yoga instructor'], athlete: ['athlete', 'wrestler', 'professional wrestler', 'gymnast', 'olympian', 'boxer', 'football player', 'basketball player', 'baseball player'],
  streamer: ['streamer', 'youtuber', 'blogger', 'influencer', 'twitch streamer', 'vlogger'], 'social worker': ['social worker', 'caseworker'], caregiver: ['caregiver', 'home health aide', 'nursing assistant', 'cna'],
  'mail carrier': ['mail carrier', 'mailman', 'postman', 'postal worker'], clerk: ['clerk', 'store clerk'], tutor: ['tutor'], principal: ['principal'], translator: ['translator', 'interpreter'],
  hairdresser: ['hairdresser', 'hair stylist', 'stylist', 'barber'], butcher: ['butcher'], fisherman: ['fisherman'], miner: ['miner', 'coal miner'], technician: ['technician'],
  lifeguard: ['lifeguard'], 'security guard': ['security guard', 'bouncer'], comedian: ['comedian'], producer: ['producer', 'director', 'filmmaker'], florist: ['florist'], gardener: ['gardener', 'landscaper'],
  'dog walker': ['dog walker'], 'tour guide': ['tour guide', 'museum tour guide'], homemaker: ['homemaker', 'housewife', 'househusband', 'stay at home mom', 'stay at home dad', 'stay at home mother', 'stay at home father', 'stay at home parent', 'stay-at-home mom', 'stay-at-home dad'],
  electrician_apprentice: ['apprentice'], intern: ['intern'], retired: ['retiree'], 'it specialist': ['it specialist', 'it technician', 'sysadmin', 'system administrator'], pharmacist_tech: ['pharmacy technician'],
  'customer service representative': ['customer service representative', 'call center agent', 'customer service rep'], 'zookeeper': ['zookeeper'], 'economist': ['economist'], 'dentist assistant': ['dental assistant'],
};

export const PETS: Readonly<Record<string, readonly string[]>> = {
  dog: ['dog', 'dogs', 'puppy', 'puppies', 'pup', 'pups', 'doggy', 'doggo', 'labrador', 'labradors', 'golden retriever', 'retriever', 'poodle', 'beagle', 'bulldog', 'pug', 'chihuahua', 'husky', 'terrier', 'german shepherd', 'dachshund', 'corgi', 'collie', 'border collie', 'rottweiler', 'pitbull', 'pit bull', 'doberman', 'great dane', 'shih tzu', 'yorkie', 'schnauzer', 'greyhound', 'mutt', 'pooch'],
  cat: ['cat', 'cats', 'kitten', 'kittens', 'kitty', 'kitties', 'maine coon', 'siamese cat', 'tabby', 'kitteh'],
  bird: ['bird', 'birds', 'parrot', 'parrots', 'parakeet', 'parakeets', 'budgie', 'budgies', 'canary', 'cockatiel', 'cockatoo', 'macaw'],
  fish: ['fish', 'goldfish', 'betta', 'aquarium fish'],
  hamster: ['hamster', 'hamsters', 'gerbil', 'gerbils'], 'guinea pig': ['guinea pig', 'guinea pigs'], rabbit: ['rabbit', 'rabbits', 'bunny', 'bunnies'],
  turtle: ['turtle', 'turtles', 'tortoise', 'tortoises'], snake: ['snake', 'snakes', 'python', 'boa'], lizard: ['lizard', 'lizards', 'gecko', 'geckos', 'iguana', 'bearded dragon'],
  horse: ['horse', 'horses', 'pony', 'ponies', 'mare', 'stallion'], ferret: ['ferret', 'ferrets'], chinchilla: ['chinchilla'], rat: ['pet rat', 'pet rats'],
  chicken: ['chicken', 'chickens', 'hens'], goat: ['goat', 'goats'], pig: ['pig', 'pigs', 'pot bellied pig'], cow: ['cow', 'cows'], frog: ['frog', 'frogs'], spider: ['tarantula'],
};
/** Farm animals count as a pet only after "pet" or with "i have/own"; "my cow" alone is fine too. */
export const FARM_PETS: ReadonlySet<string> = new Set(['chicken', 'goat', 'pig', 'cow']);

export const LANGUAGES: readonly string[] = [
  'english', 'spanish', 'french', 'german', 'italian', 'portuguese', 'chinese', 'mandarin', 'cantonese', 'japanese', 'korean', 'arabic', 'russian', 'hindi', 'dutch', 'swedish',
  'norwegian', 'danish', 'finnish', 'polish', 'greek', 'turkish', 'hebrew', 'vietnamese', 'tagalog', 'urdu', 'bengali', 'punjabi', 'swahili', 'czech', 'hungarian', 'romanian',
  'ukrainian', 'thai', 'indonesian', 'malay', 'persian', 'farsi', 'latin', 'sign language', 'asl', 'gaelic', 'irish', 'welsh', 'catalan', 'tamil', 'telugu', 'gujarati',
];

export const FAMILY_WORDS: ReadonlySet<string> = new Set([
  'wife', 'husband', 'spouse', 'partner', 'boyfriend', 'girlfriend', 'fiance', 'fiancee', 'mom', 'mum', 'mother', 'dad', 'father', 'parents', 'parent', 'brother', 'sister', 'brothers',
  'sisters', 'sibling', 'siblings', 'son', 'daughter', 'sons', 'daughters', 'kid', 'kids', 'child', 'children', 'grandma', 'grandpa', 'grandmother', 'grandfather', 'grandparents', 'aunt',
  'uncle', 'cousin', 'cousins', 'nephew', 'niece', 'friend', 'friends', 'neighbor', 'neighbour', 'neighbors', 'roommate', 'boss', 'coworker', 'colleague', 'family', 'mommy', 'daddy', 'ex',
  'baby', 'babies', 'grandkids', 'grandchildren', 'stepmom', 'stepdad', 'in-laws', 'bestie', 'bff',
]);

/** Irregular plurals for value normalisation; regular ones are handled by rules. */
export const IRREGULAR_SINGULAR: Readonly<Record<string, string>> = {
  children: 'child', people: 'person', men: 'man', women: 'woman', mice: 'mouse', geese: 'goose', feet: 'foot', teeth: 'tooth', puppies: 'puppy', kitties: 'kitty', ponies: 'pony',
  bunnies: 'bunny', knives: 'knife', leaves: 'leaf', wolves: 'wolf', halves: 'half', shelves: 'shelf', series: 'series', species: 'species', news: 'news', sports: 'sports',
  movies: 'movie', cookies: 'cookie', athletics: 'athletics', physics: 'physics', politics: 'politics', economics: 'economics', gymnastics: 'gymnastics', graphics: 'graphics',
  glasses: 'glasses', clothes: 'clothes', shoes: 'shoe', pies: 'pie', ties: 'tie', lies: 'lie', dice: 'dice', fish: 'fish', sheep: 'sheep', deer: 'deer', crafts: 'crafts', arts: 'arts',
  comics: 'comics', outdoors: 'outdoors', games: 'game', anime: 'anime', ps5: 'ps5', bass: 'bass', chess: 'chess', tennis: 'tennis', yoga: 'yoga', christmas: 'christmas', texas: 'texas',
  paris: 'paris', canvas: 'canvas', gas: 'gas', bus: 'bus', lens: 'lens', status: 'status', mathematics: 'mathematics', math: 'math', dallas: 'dallas', kansas: 'kansas', always: 'always',
};

export function singular(word: string): string {
  const irr = IRREGULAR_SINGULAR[word];
  if (irr) return irr;
  if (word.length <= 3) return word;
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (/(?:ches|shes|sses|xes|zzes|oes)$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('ss') || word.endsWith('us') || word.endsWith('is') || word.endsWith("'s")) return word;
  if (word.endsWith('s')) return word.slice(0, -1);
  return word;
}
