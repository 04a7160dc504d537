/**
 * The curated vocabulary for open interest values: what a person can plausibly be "into" beyond the
 * topic lexicon (lexicon.ts TOPICS). An object of "i love / i enjoy / my favorite hobby is" becomes an
 * interest only when it names one of these (as said, e.g. "papaya", "garlic bread", "jazz"), so chat
 * filler ("i love that count", "i like the view") no longer turns into traits. Generic word lists
 * by kind, all lower case, singular (the extractor singularises before looking up).
 */

const FOODS = [
  // dishes and foods people say they love
  'pizza', 'pasta', 'spaghetti', 'lasagna', 'paella', 'risotto', 'ravioli', 'alfredo', 'chicken alfredo', 'mac and cheese', 'macaroni', 'burger', 'hamburger', 'cheeseburger',
  'hot dog', 'sandwich', 'taco', 'burrito', 'nacho', 'enchilada', 'quesadilla', 'salsa', 'guacamole', 'sushi', 'ramen', 'noodle', 'dumpling', 'curry', 'stir fry', 'fried rice',
  'steak', 'bbq', 'barbecue', 'rib', 'brisket', 'fried chicken', 'chicken wing', 'wing', 'chicken', 'bacon', 'sausage', 'ham', 'turkey', 'seafood', 'shrimp', 'lobster', 'crab',
  'salmon', 'tuna', 'oyster', 'fish and chip', 'fry', 'french fry', 'potato', 'mashed potato', 'salad', 'soup', 'chili', 'stew', 'bread', 'garlic bread', 'bagel', 'pretzel',
  'pancake', 'waffle', 'egg', 'omelette', 'cereal', 'oatmeal', 'cheese', 'yogurt', 'ice cream', 'gelato', 'frozen yogurt', 'chocolate', 'candy', 'cookie', 'cake', 'cupcake',
  'brownie', 'pie', 'apple pie', 'cheesecake', 'donut', 'doughnut', 'muffin', 'pastry', 'croissant', 'dessert', 'sweet', 'popcorn', 'chip', 'snack', 'peanut butter', 'nut',
  'fruit', 'apple', 'banana', 'orange', 'mango', 'papaya', 'pineapple', 'strawberry', 'blueberry', 'grape', 'watermelon', 'peach', 'cherry', 'avocado', 'vegetable', 'veggie',
  'broccoli', 'carrot', 'spinach', 'tomato', 'mushroom', 'pickle', 'olive', 'rice', 'bean', 'tofu', 'hummus', 'falafel', 'kebab', 'gyro', 'pho', 'tamale', 'meatball',
  'mexican food', 'italian food', 'chinese food', 'thai food', 'indian food', 'japanese food', 'french food', 'greek food', 'korean food', 'vietnamese food', 'spicy food',
  'junk food', 'fast food', 'comfort food', 'soul food', 'southern food', 'healthy food', 'organic food', 'home cooking', 'home cooked meal', 'brunch', 'breakfast', 'cuisine',
  // drinks
  'coffee', 'tea', 'beer', 'craft beer', 'wine', 'red wine', 'white wine', 'whiskey', 'bourbon', 'vodka', 'tequila', 'margarita', 'cocktail', 'champagne', 'soda', 'juice',
  'smoothie', 'milkshake', 'lemonade', 'hot chocolate', 'cappuccino', 'latte', 'espresso',
];

const MUSIC = [
  'jazz', 'blues', 'hip hop', 'rap', 'reggae', 'opera', 'bluegrass', 'techno', 'edm', 'dubstep', 'disco', 'funk', 'soul', 'r&b', 'k-pop', 'kpop', 'grunge', 'punk', 'ska',
  'rock and roll', 'rock n roll', 'heavy metal', 'classic rock', 'soft rock', 'hard rock', 'alternative rock', 'indie rock', 'pop music', 'country music', 'rock music', 'folk music',
  'classical music', 'metal music', 'gospel music', 'dance music', 'electronic music', 'oldie', 'musical', 'broadway', 'karaoke', 'concert', 'festival', 'music festival',
];
/** Genre words that are also ordinary words: the value says "<genre> music" so it is unambiguous. */
export const AMBIGUOUS_GENRES: ReadonlySet<string> = new Set(['country', 'rock', 'pop', 'metal', 'folk', 'classical', 'alternative', 'indie', 'gospel', 'classic country', 'electronic']);

const INSTRUMENTS = [
  'guitar', 'piano', 'drum', 'violin', 'viola', 'cello', 'bass', 'flute', 'clarinet', 'saxophone', 'sax', 'trumpet', 'trombone', 'tuba', 'harp', 'banjo', 'ukulele', 'mandolin',
  'harmonica', 'accordion', 'keyboard', 'organ', 'oboe', 'french horn', 'bagpipe', 'xylophone',
];

const SPORTS_AND_GAMES = [
  'sport', 'sports', 'gymnastics', 'volleyball', 'lacrosse', 'rugby', 'cricket', 'bowling', 'skateboarding', 'skating', 'ice skating', 'roller skating', 'rollerblading', 'ping pong',
  'table tennis', 'badminton', 'archery', 'fencing', 'ufc', 'mma', 'wrestling', 'boxing', 'nascar', 'formula 1', 'horse racing', 'track', 'track and field', 'cross country',
  'triathlon', 'sky diving', 'skydiving', 'bungee jumping', 'parkour', 'frisbee', 'disc golf', 'racquetball', 'squash', 'pool', 'billiard', 'dart', 'poker', 'blackjack',
  'casino', 'bingo', 'scuba diving', 'diving', 'snorkeling', 'snorkelling', 'water skiing', 'wakeboarding', 'jet skiing', 'rollercoaster', 'roller coaster', 'olympics',
  'weight lifting', 'powerlifting', 'cheerleading', 'softball', 'sledding', 'ice fishing', 'motocross', 'dirt biking', 'go kart', 'paintball', 'laser tag', 'mini golf',
  'video game', 'computer game', 'online game', 'board game', 'card game', 'role playing game', 'roleplaying game', 'rpg', 'mmorpg', 'chess', 'checkers', 'crossword',
  'crossword puzzle', 'sudoku', 'trivia', 'jigsaw puzzle', 'lego', 'minecraft', 'fortnite', 'pokemon', 'dungeons and dragons', 'tabletop game',
];

const ACTIVITIES = [
  // gerund-shaped hobbies not already in the topic lexicon
  'walking', 'long walk', 'skinny dipping', 'partying', 'party', 'clubbing', 'going out', 'sightseeing', 'road trip', 'people watching', 'stargazing', 'bird watching',
  'scrapbooking', 'journaling', 'blogging', 'vlogging', 'podcast', 'calligraphy', 'pottery', 'ceramics', 'sculpting', 'woodworking', 'woodwork', 'embroidery', 'quilting',
  'beading', 'jewelry making', 'candle making', 'origami', 'cosplay', 'magic trick', 'juggling', 'acting', 'theater', 'theatre', 'improv', 'stand up comedy', 'comedy',
  'meditation', 'meditating', 'tai chi', 'spa', 'massage', 'sunbathing', 'tanning', 'napping', 'sleeping in', 'gambling', 'thrifting', 'antiquing', 'window shopping',
  'horseback riding', 'riding', 'driving', 'motorcycle riding', 'picnic', 'barbecuing', 'grilling', 'cookout', 'gardening', 'landscaping', 'mowing', 'farming',
  'composting', 'beekeeping', 'fishing', 'hunting', 'foraging', 'camping', 'glamping', 'hiking', 'backpacking', 'mountaineering', 'rock climbing', 'caving', 'spelunking',
  'baking', 'cooking', 'canning', 'brewing', 'home brewing', 'wine tasting', 'eating out', 'dining out', 'trying new food', 'trying new restaurant', 'restaurant',
  'traveling', 'travelling', 'travel', 'volunteering', 'charity work', 'tutoring', 'mentoring', 'teaching', 'learning', 'studying', 'genealogy', 'astronomy', 'astrology',
  'coding', 'programming', 'building computer', 'robotics', 'electronics', 'ham radio', 'drone', 'model train', 'model car', 'rc car', 'car restoration',
  'fixing car', 'restoring car', 'working on car', 'detailing car', 'knitting', 'sewing', 'crocheting', 'painting', 'drawing', 'sketching', 'doodling', 'coloring',
  'photography', 'filmmaking', 'video editing', 'graphic design', 'design', 'fashion', 'makeup', 'nail art', 'hair styling', 'shopping', 'collecting', 'writing', 'poetry',
  'reading', 'singing', 'dancing', 'ballet', 'tap dancing', 'line dancing', 'salsa dancing', 'swing dancing', 'yoga', 'pilates', 'zumba', 'aerobics', 'spinning',
  'jogging', 'running', 'swimming', 'surfing', 'sailing', 'kayaking', 'canoeing', 'rowing', 'paddle boarding', 'biking', 'cycling', 'mountain biking', 'skiing',
  'snowboarding', 'ice hockey', 'social media', 'twitter', 'instagram', 'facebook', 'youtube', 'netflix', 'internet', 'the internet', 'browsing the internet', 'texting',
];

const MEDIA = [
  'movie', 'film', 'documentary', 'war documentary', 'horror movie', 'comedy movie', 'action movie', 'romantic comedy', 'rom com', 'cartoon', 'anime', 'manga', 'comic',
  'comic book', 'graphic novel', 'tv show', 'reality tv', 'reality show', 'soap opera', 'sitcom', 'game show', 'talk show', 'news', 'book', 'novel', 'mystery', 'mystery novel',
  'romance novel', 'science fiction', 'sci fi', 'sci-fi', 'fantasy', 'fantasy novel', 'thriller', 'horror', 'biography', 'history', 'history book', 'magazine', 'audiobook',
  'poem', 'bar', 'pub', 'nightlife', 'theme park', 'amusement park', 'water park', 'disney', 'disneyland', 'disney world', 'superhero', 'superhero movie', 'star wars', 'star trek', 'harry potter', 'disney', 'disney movie',
];

const NATURE_AND_THINGS = [
  'nature', 'outdoors', 'the outdoors', 'beach', 'ocean', 'sea', 'lake', 'river', 'mountain', 'forest', 'wood', 'national park', 'park', 'sunset', 'sunrise', 'rain', 'snow',
  'star', 'flower', 'plant', 'tree', 'animal', 'wildlife', 'bird', 'horse', 'dog', 'cat', 'puppy', 'kitten', 'zoo', 'aquarium', 'dinosaur', 'insect', 'butterfly',
  'car', 'vintage car', 'classic car', 'muscle car', 'sports car', 'truck', 'motorcycle', 'boat', 'train', 'airplane', 'plane',
  'art', 'museum', 'art museum', 'gallery', 'architecture', 'antique', 'craft', 'clothes', 'shoe', 'sneaker', 'jewelry', 'handbag', 'purse', 'perfume', 'tattoo',
  'gadget', 'computer', 'technology', 'science', 'math', 'physics', 'chemistry', 'biology', 'space', 'language', 'foreign language', 'culture', 'philosophy', 'psychology',
  'economics', 'geography', 'music', 'song', 'holiday', 'christmas', 'halloween', 'camping trip', 'vacation', 'cruise', 'trip',
];

/** Every curated open interest value (singular, lower case). */
export const INTEREST_VOCAB: ReadonlySet<string> = new Set([...FOODS, ...MUSIC, ...INSTRUMENTS, ...SPORTS_AND_GAMES, ...ACTIVITIES, ...MEDIA, ...NATURE_AND_THINGS]);
