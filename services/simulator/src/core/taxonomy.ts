import type { Gender, LifeEventKind, Occupation } from './types.js';

/**
 * The category taxonomy of the generated catalogue (version 1): three-level paths covering every
 * HPR-Bench interest (top level = the interest, title-cased) plus general categories (Groceries,
 * Household, Clothing, Baby, Office, Tools & DIY). Each leaf carries the hidden affinities the behaviour model
 * uses; none of them is ever written into an event except through the path itself.
 */
export interface LeafSpec {
  /** Category path, e.g. ['Sports', 'Running', 'Running Shoes']. */
  path: [string, string, string];
  /** Median price of a mid-tier item, in the catalogue currency. */
  price: number;
  /** Relative popularity among the leaves of its top category. */
  weight: number;
  /** Gendered leaf (clothing, personal care…). */
  gender?: Gender;
  /** Occupations whose work needs drive visits to this leaf. */
  occupations?: Occupation[];
  /** Life events after which this leaf gets visits. */
  lifeEvents?: LifeEventKind[];
  /** Age affinity in [-1, 1]: −1 young shoppers, +1 older shoppers. */
  age: number;
  /** Seasonal spike this leaf takes part in. */
  season?: Season;
  /** Typical gift for someone else. */
  gift?: boolean;
}

export type Season = 'new_year' | 'valentine' | 'spring' | 'summer' | 'back_to_school' | 'holiday';

interface Opts {
  w?: number;
  g?: Gender;
  occ?: Occupation[];
  ev?: LifeEventKind[];
  age?: number;
  season?: Season;
  gift?: boolean;
}

const raw: Array<[string, number, Opts?]> = [
  // Sports
  ['Sports > Running > Running Shoes', 110, { w: 2 }],
  ["Sports > Running > Women's Running Apparel", 45, { g: 'female' }],
  ["Sports > Running > Men's Running Apparel", 45, { g: 'male' }],
  ['Sports > Running > GPS Watches', 250, { gift: true }],
  ['Sports > Team Sports > Footballs', 30, { age: -0.4 }],
  ['Sports > Team Sports > Basketballs', 35, { age: -0.6 }],
  ['Sports > Team Sports > Team Jerseys', 80, { age: -0.5, gift: true }],
  ['Sports > Cycling > Road Bikes', 1100, { age: 0.2 }],
  ['Sports > Cycling > Bike Helmets', 70],
  ['Sports > Cycling > Bike Accessories', 30],
  ['Sports > Racket Sports > Tennis Rackets', 150, { age: 0.2 }],
  ['Sports > Racket Sports > Badminton Sets', 40],
  ['Sports > Golf > Golf Clubs', 400, { age: 0.9 }],
  ['Sports > Golf > Golf Balls', 35, { age: 0.8 }],
  // Fitness
  ['Fitness > Equipment > Dumbbells', 60, { ev: ['started_fitness'], season: 'new_year' }],
  ['Fitness > Equipment > Kettlebells', 50, { ev: ['started_fitness'] }],
  ['Fitness > Equipment > Yoga Mats', 35, { ev: ['started_fitness'], season: 'new_year' }],
  ['Fitness > Equipment > Resistance Bands', 20, { ev: ['started_fitness'] }],
  ['Fitness > Nutrition > Protein Powder', 45, { age: -0.5, ev: ['started_fitness'] }],
  ['Fitness > Nutrition > Energy Bars', 20, { age: -0.4 }],
  ["Fitness > Activewear > Women's Leggings", 55, { g: 'female', ev: ['started_fitness'] }],
  ['Fitness > Activewear > Sports Bras', 40, { g: 'female' }],
  ["Fitness > Activewear > Men's Training Shorts", 35, { g: 'male', ev: ['started_fitness'] }],
  ["Fitness > Activewear > Men's Training Tops", 35, { g: 'male' }],
  ['Fitness > Trackers > Fitness Trackers', 120, { ev: ['started_fitness'], season: 'new_year', gift: true }],
  ['Fitness > Gym > Gym Memberships', 40, { ev: ['started_fitness'], season: 'new_year' }],
  // Gaming
  ['Gaming > Consoles > Game Consoles', 450, { age: -0.8, gift: true }],
  ['Gaming > Video Games > Action Games', 60, { w: 2, age: -0.8 }],
  ['Gaming > Video Games > Role-Playing Games', 60, { w: 1.5, age: -0.6 }],
  ['Gaming > Video Games > Sports Games', 60, { age: -0.6 }],
  ['Gaming > Video Games > Puzzle Games', 30, { age: 0.6 }],
  ['Gaming > Accessories > Controllers', 60, { age: -0.7 }],
  ['Gaming > Accessories > Gaming Headsets', 90, { age: -0.8 }],
  ['Gaming > Accessories > Gaming Chairs', 250, { age: -0.7 }],
  ['Gaming > PC Gaming > Graphics Cards', 600, { age: -0.5 }],
  ['Gaming > PC Gaming > Gaming Mice', 60, { age: -0.6 }],
  // Tech
  ['Tech > Computers > Laptops', 1000, { w: 2, ev: ['new_job'] }],
  ['Tech > Computers > Monitors', 300],
  ['Tech > Computers > Keyboards', 80],
  ['Tech > Components > Dev Boards', 45, { occ: ['tech'], age: -0.3 }],
  ['Tech > Components > Mechanical Keyboards', 130, { occ: ['tech'], age: -0.5 }],
  ['Tech > Phones > Smartphones', 700, { w: 2, age: -0.4, gift: true }],
  ['Tech > Phones > Phone Cases', 25, { age: -0.6 }],
  ['Tech > Phones > Chargers', 30],
  ['Tech > Audio > Headphones', 150, { w: 1.5, age: -0.5, gift: true }],
  ['Tech > Audio > Bluetooth Speakers', 100, { age: -0.3 }],
  ['Tech > Smart Home > Smart Speakers', 90, { ev: ['moved_home'] }],
  ['Tech > Smart Home > Smart Bulbs', 30, { ev: ['moved_home'] }],
  ['Tech > Tablets > Tablets', 500, { age: 0.5 }],
  // Fashion
  ['Fashion > Women > Dresses', 70, { g: 'female', w: 2, age: -0.3 }],
  ['Fashion > Women > Handbags', 120, { g: 'female', gift: true }],
  ['Fashion > Women > Heels', 90, { g: 'female', age: -0.3 }],
  ['Fashion > Women > Jewelry', 150, { g: 'female', gift: true, season: 'valentine' }],
  ['Fashion > Women > Tops', 35, { g: 'female', w: 2 }],
  ['Fashion > Women > Blazers', 110, { g: 'female', occ: ['business'], ev: ['new_job'] }],
  ['Fashion > Men > Shirts', 45, { g: 'male', w: 2 }],
  ['Fashion > Men > Suits', 300, { g: 'male', occ: ['business'], ev: ['new_job', 'wedding'] }],
  ['Fashion > Men > Sneakers', 100, { g: 'male', age: -0.6 }],
  ['Fashion > Men > Watches', 200, { g: 'male', gift: true, age: 0.3 }],
  ['Fashion > Men > Jeans', 60, { g: 'male', w: 1.5 }],
  ['Fashion > Accessories > Sunglasses', 90, { season: 'summer' }],
  ['Fashion > Accessories > Scarves', 30, { age: 0.4, gift: true }],
  ['Fashion > Accessories > Wallets', 50, { gift: true }],
  ['Fashion > Formalwear > Wedding Attire', 400, { ev: ['wedding'], w: 0.3 }],
  ['Fashion > Formalwear > Formal Shoes', 120, { ev: ['wedding', 'new_job'] }],
  // Beauty
  ['Beauty > Skincare > Moisturizers', 35, { w: 1.5, age: 0.3 }],
  ['Beauty > Skincare > Serums', 45, { age: 0.2 }],
  ['Beauty > Skincare > Sunscreen', 20, { season: 'summer' }],
  ['Beauty > Makeup > Lipstick', 25, { g: 'female', age: -0.3 }],
  ['Beauty > Makeup > Foundation', 40, { g: 'female' }],
  ['Beauty > Makeup > Mascara', 20, { g: 'female', age: -0.3 }],
  ['Beauty > Grooming > Beard Care', 25, { g: 'male', age: -0.4 }],
  ['Beauty > Grooming > Electric Shavers', 90, { g: 'male', gift: true }],
  ['Beauty > Fragrance > Perfume', 85, { g: 'female', gift: true, season: 'valentine' }],
  ['Beauty > Fragrance > Cologne', 80, { g: 'male', gift: true, season: 'valentine' }],
  ['Beauty > Hair Care > Shampoo', 15],
  ['Beauty > Hair Care > Hair Dryers', 70],
  // Home
  ['Home > Furniture > Sofas', 900, { ev: ['moved_home'] }],
  ['Home > Furniture > Beds', 700, { ev: ['moved_home'] }],
  ['Home > Furniture > Bookshelves', 150, { ev: ['moved_home'] }],
  ['Home > Furniture > Dining Tables', 500, { ev: ['moved_home'], age: 0.3 }],
  ['Home > Decor > Lamps', 60, { ev: ['moved_home'] }],
  ['Home > Decor > Rugs', 150, { ev: ['moved_home'] }],
  ['Home > Decor > Wall Art', 80],
  ['Home > Decor > Candles', 20, { gift: true, season: 'holiday' }],
  ['Home > Bedding > Duvets', 90],
  ['Home > Bedding > Pillows', 35],
  ['Home > Garden > Plants', 30, { age: 0.7, season: 'spring', ev: ['retirement'] }],
  ['Home > Garden > Garden Tools', 45, { age: 0.8, season: 'spring', ev: ['retirement'] }],
  ['Home > Garden > Outdoor Furniture', 350, { age: 0.5, season: 'summer' }],
  ['Home > Storage > Moving Boxes', 25, { ev: ['moved_home'], w: 0.3 }],
  ['Home > Storage > Shelving Units', 80, { ev: ['moved_home'] }],
  // Cooking
  ['Cooking > Cookware > Frying Pans', 50, { w: 1.5 }],
  ['Cooking > Cookware > Knife Sets', 120, { gift: true }],
  ['Cooking > Cookware > Dutch Ovens', 130, { age: 0.4 }],
  ['Cooking > Appliances > Blenders', 90],
  ['Cooking > Appliances > Coffee Makers', 120, { w: 1.5, ev: ['moved_home'] }],
  ['Cooking > Appliances > Air Fryers', 110],
  ['Cooking > Bakeware > Baking Sheets', 20, { age: 0.3 }],
  ['Cooking > Bakeware > Stand Mixers', 350, { age: 0.5, gift: true }],
  ['Cooking > Pantry > Spices', 12],
  ['Cooking > Pantry > Olive Oil', 18],
  ['Cooking > Books > Cookbooks', 25, { age: 0.4, gift: true }],
  // Travel
  ['Travel > Luggage > Suitcases', 180, { ev: ['wedding', 'retirement'] }],
  ['Travel > Luggage > Travel Backpacks', 90, { age: -0.5 }],
  ['Travel > Accessories > Travel Adapters', 20],
  ['Travel > Accessories > Neck Pillows', 25],
  ['Travel > Experiences > City Breaks', 400, { ev: ['wedding'] }],
  ['Travel > Experiences > Guided Tours', 150, { age: 0.7, ev: ['retirement'] }],
  ['Travel > Experiences > Cruises', 1500, { age: 1, ev: ['retirement'] }],
  ['Travel > Experiences > Beach Holidays', 900, { season: 'summer', ev: ['wedding'] }],
  ['Travel > Experiences > Hostel Stays', 60, { age: -1 }],
  ['Travel > Guides > Travel Guidebooks', 20, { age: 0.4 }],
  // Books
  ['Books > Fiction > Thrillers', 15, { w: 1.5 }],
  ['Books > Fiction > Romance Novels', 12],
  ['Books > Fiction > Science Fiction', 15, { age: -0.3 }],
  ['Books > Fiction > Young Adult Novels', 12, { age: -1 }],
  ['Books > Non-fiction > Biographies', 20, { age: 0.7 }],
  ['Books > Non-fiction > History Books', 22, { age: 0.8, ev: ['retirement'] }],
  ['Books > Non-fiction > Self-help Books', 16],
  ['Books > Technical > Programming Books', 45, { occ: ['tech'] }],
  ['Books > Technical > Medical Reference', 60, { occ: ['healthcare'] }],
  // Music
  ['Music > Instruments > Guitars', 350],
  ['Music > Instruments > Digital Pianos', 600, { age: 0.3 }],
  ['Music > Instruments > Drum Kits', 500, { age: -0.5 }],
  ['Music > Vinyl > Rock Vinyl', 28, { age: 0.6 }],
  ['Music > Vinyl > Jazz Vinyl', 30, { age: 0.9 }],
  ['Music > Vinyl > Pop Vinyl', 25, { age: -0.8 }],
  ['Music > Audio > Turntables', 250, { age: 0.4 }],
  ['Music > Tickets > Concert Tickets', 90, { age: -0.7, w: 1.5 }],
  ['Music > Tickets > Festival Passes', 250, { age: -1, season: 'summer' }],
  // Movies
  ['Movies > Blu-ray > Action Movies', 20, { age: -0.2 }],
  ['Movies > Blu-ray > Drama Movies', 18, { age: 0.5 }],
  ['Movies > Blu-ray > Animated Movies', 18],
  ['Movies > Blu-ray > Classic Films', 15, { age: 1 }],
  ['Movies > Streaming > Streaming Subscriptions', 12, { age: -0.8, w: 1.5 }],
  ['Movies > Home Cinema > Projectors', 500],
  ['Movies > Home Cinema > Soundbars', 250, { age: 0.3 }],
  ['Movies > Merchandise > Movie Posters', 25, { age: -0.9 }],
  // Parenting (children beyond babies)
  ['Parenting > Toys > Building Sets', 50, { w: 1.5, gift: true, season: 'holiday' }],
  ['Parenting > Toys > Dolls', 30, { gift: true }],
  ['Parenting > Toys > Educational Toys', 35, { gift: true }],
  ["Parenting > Kids' Clothing > Kids' Shoes", 40],
  ["Parenting > Kids' Clothing > Kids' Jackets", 45],
  ["Parenting > School > Kids' Backpacks", 35, { season: 'back_to_school' }],
  ['Parenting > School > Lunch Boxes', 15, { season: 'back_to_school' }],
  ['Parenting > Books > Picture Books', 12, { gift: true }],
  ['Parenting > Books > Parenting Guides', 18],
  // Pets
  ['Pets > Dogs > Dog Food', 50, { w: 2, ev: ['new_pet'] }],
  ['Pets > Dogs > Dog Toys', 15, { ev: ['new_pet'] }],
  ['Pets > Dogs > Dog Beds', 60, { ev: ['new_pet'] }],
  ['Pets > Dogs > Leashes', 20, { ev: ['new_pet'] }],
  ['Pets > Cats > Cat Food', 35, { w: 2, ev: ['new_pet'] }],
  ['Pets > Cats > Cat Litter', 20, { ev: ['new_pet'] }],
  ['Pets > Cats > Scratching Posts', 45, { ev: ['new_pet'] }],
  ['Pets > Fish > Aquariums', 120, { age: 0.3 }],
  // Outdoors
  ['Outdoors > Camping > Tents', 200, { season: 'summer' }],
  ['Outdoors > Camping > Sleeping Bags', 90],
  ['Outdoors > Camping > Camping Stoves', 60],
  ['Outdoors > Hiking > Hiking Boots', 140, { w: 1.5 }],
  ['Outdoors > Hiking > Hiking Backpacks', 110],
  ['Outdoors > Fishing > Fishing Rods', 90, { age: 0.8 }],
  ['Outdoors > Fishing > Tackle Boxes', 35, { age: 0.7 }],
  ["Outdoors > Clothing > Women's Rain Jackets", 120, { g: 'female' }],
  ["Outdoors > Clothing > Men's Rain Jackets", 120, { g: 'male' }],
  // Automotive
  ['Automotive > Car Care > Car Wax', 20],
  ['Automotive > Car Care > Pressure Washers', 180, { age: 0.4 }],
  ['Automotive > Parts > Tires', 150, { w: 1.5 }],
  ['Automotive > Parts > Car Batteries', 130],
  ['Automotive > Parts > Wiper Blades', 25],
  ['Automotive > Accessories > Dash Cams', 100],
  ['Automotive > Accessories > Seat Covers', 45],
  ['Automotive > Accessories > Phone Mounts', 20, { age: -0.4 }],
  ['Automotive > Motorcycle > Motorcycle Helmets', 220, { age: -0.5 }],
  // Finance
  ['Finance > Investing > Investing Books', 25],
  ['Finance > Investing > Trading Courses', 200, { age: -0.4 }],
  ['Finance > Software > Tax Software', 50, { w: 1.5, age: 0.3 }],
  ['Finance > Software > Budgeting Apps', 40, { age: -0.5 }],
  ['Finance > Security > Home Safes', 150, { age: 0.4 }],
  ['Finance > Security > Financial Calculators', 25, { occ: ['business'] }],
  ['Finance > News > Market News Subscriptions', 30, { age: 0.6 }],
  // Health
  ['Health > Vitamins > Multivitamins', 20, { age: 0.7, w: 1.5 }],
  ['Health > Vitamins > Supplements', 25],
  ['Health > Monitoring > Blood Pressure Monitors', 60, { age: 1 }],
  ['Health > Monitoring > Smart Scales', 50, { ev: ['started_fitness'], season: 'new_year' }],
  ['Health > Personal Care > Electric Toothbrushes', 80],
  ['Health > Personal Care > First Aid Kits', 25],
  ['Health > Mobility > Walking Aids', 45, { age: 1 }],
  ['Health > Mobility > Massage Guns', 120, { age: -0.3 }],
  ['Health > Medical Uniforms > Scrubs', 35, { occ: ['healthcare'] }],
  ['Health > Medical Uniforms > Nursing Shoes', 90, { occ: ['healthcare'] }],
  ['Health > Medical Uniforms > Stethoscopes', 90, { occ: ['healthcare'] }],
  // Art
  ['Art > Supplies > Acrylic Paints', 25],
  ['Art > Supplies > Paint Brushes', 15],
  ['Art > Supplies > Canvases', 20],
  ['Art > Crafts > Knitting Yarn', 12, { age: 0.9 }],
  ['Art > Crafts > Sewing Machines', 250, { age: 0.6 }],
  ['Art > Photography > Cameras', 800, { w: 1.5 }],
  ['Art > Photography > Camera Lenses', 500, { occ: ['creative'] }],
  ['Art > Digital Art > Drawing Tablets', 300, { occ: ['creative'], age: -0.5 }],
  ['Art > Digital Art > Design Software', 200, { occ: ['creative'] }],
  // Education
  ['Education > Courses > Online Courses', 80, { w: 1.5 }],
  ['Education > Courses > Language Courses', 120, { ev: ['retirement'] }],
  ['Education > Textbooks > University Textbooks', 90, { occ: ['student'], age: -1 }],
  ['Education > Textbooks > Test Prep Books', 40, { occ: ['student'], age: -1 }],
  ['Education > Study > Notebooks', 10, { occ: ['student'], season: 'back_to_school' }],
  ['Education > Study > Scientific Calculators', 25, { occ: ['student'] }],
  ['Education > Study > Study Lamps', 35],
  // General: Groceries
  ['Groceries > Pantry > Pasta and Rice', 5, { w: 2 }],
  ['Groceries > Pantry > Breakfast Cereal', 6],
  ['Groceries > Pantry > Canned Goods', 4],
  ['Groceries > Pantry > Instant Noodles', 3, { occ: ['student'], age: -1 }],
  ['Groceries > Snacks > Chips', 4, { age: -0.5 }],
  ['Groceries > Snacks > Protein Snacks', 3, { age: -0.8 }],
  ['Groceries > Pantry > Meal Kits', 12, { age: -0.6 }],
  ['Groceries > Beverages > Decaf Coffee', 12, { age: 0.9 }],
  ['Groceries > Beverages > Herbal Tea', 6, { age: 0.8 }],
  ['Groceries > Snacks > Chocolate', 6, { gift: true, season: 'valentine' }],
  ['Groceries > Beverages > Coffee Beans', 15, { w: 1.5 }],
  ['Groceries > Beverages > Tea', 8, { age: 0.6 }],
  ['Groceries > Beverages > Energy Drinks', 3, { age: -1 }],
  ['Groceries > Fresh > Fruit Boxes', 25, { age: 0.4 }],
  ['Groceries > Fresh > Flowers', 35, { gift: true, season: 'valentine' }],
  // General: Household
  ['Household > Cleaning > Cleaning Sprays', 6, { w: 1.5 }],
  ['Household > Cleaning > Vacuum Cleaners', 250, { ev: ['moved_home'] }],
  ['Household > Laundry > Detergent', 12, { w: 1.5 }],
  ['Household > Paper Goods > Paper Towels', 15],
  ["Household > Personal Care > Women's Razors", 15, { g: 'female' }],
  ["Household > Personal Care > Men's Razors", 15, { g: 'male' }],
  ["Household > Personal Care > Women's Deodorant", 6, { g: 'female' }],
  ["Household > Personal Care > Men's Deodorant", 6, { g: 'male' }],
  ['Household > Personal Care > Reading Glasses', 20, { age: 1 }],
  ['Household > Personal Care > Pill Organizers', 10, { age: 1 }],
  ['Household > Personal Care > Hearing Aid Batteries', 12, { age: 1 }],
  ['Household > Personal Care > Acne Treatment', 14, { age: -1 }],
  ['Household > Dorm > Dorm Storage', 25, { age: -1 }],
  ['Household > Dorm > LED Strip Lights', 20, { age: -0.9 }],
  // General: everyday clothing (gendered basics, distinct from the fashion interest)
  ["Clothing > Women > Women's T-Shirts", 15, { g: 'female' }],
  ["Clothing > Women > Women's Socks", 8, { g: 'female' }],
  ["Clothing > Women > Women's Underwear", 20, { g: 'female' }],
  ["Clothing > Women > Women's Pajamas", 30, { g: 'female', age: 0.4 }],
  ["Clothing > Men > Men's T-Shirts", 15, { g: 'male' }],
  ["Clothing > Men > Men's Socks", 8, { g: 'male' }],
  ["Clothing > Men > Men's Underwear", 20, { g: 'male' }],
  ["Clothing > Men > Men's Pajamas", 30, { g: 'male', age: 0.4 }],
  // General: Baby
  ['Baby > Diapering > Diapers', 35, { w: 2, ev: ['new_baby'] }],
  ['Baby > Diapering > Baby Wipes', 12, { w: 1.5, ev: ['new_baby'] }],
  ['Baby > Feeding > Baby Bottles', 25, { ev: ['new_baby'] }],
  ['Baby > Feeding > Baby Formula', 30, { ev: ['new_baby'] }],
  ['Baby > Feeding > Breast Pumps', 150, { ev: ['new_baby'] }],
  ['Baby > Gear > Strollers', 400, { ev: ['new_baby'] }],
  ['Baby > Gear > Car Seats', 250, { ev: ['new_baby'] }],
  ['Baby > Gear > Baby Carriers', 100, { ev: ['new_baby'] }],
  ['Baby > Nursery > Cribs', 300, { ev: ['new_baby'] }],
  ['Baby > Nursery > Baby Monitors', 120, { ev: ['new_baby'] }],
  ['Baby > Clothing > Baby Bodysuits', 20, { ev: ['new_baby'], gift: true }],
  // General: Office
  ['Office > Stationery > Pens', 8],
  ['Office > Stationery > Planners', 20, { season: 'new_year' }],
  ['Office > Printers > Printers', 180, { age: 0.5 }],
  ['Office > Printers > Ink Cartridges', 40, { age: 0.6 }],
  ['Office > Stationery > Greeting Cards', 5, { age: 0.9 }],
  ['Office > Stationery > Address Books', 10, { age: 1 }],
  ['Office > Gadgets > Phone Tripods', 20, { age: -0.9 }],
  ['Office > Gadgets > Large-Button Phones', 45, { age: 1 }],
  ['Office > Business > Briefcases', 150, { occ: ['business'], ev: ['new_job'] }],
  ['Office > Business > Business Cards', 30, { occ: ['business'] }],
  ['Office > Business > Presentation Clickers', 35, { occ: ['business'] }],
  ['Office > Furniture > Office Chairs', 250, { ev: ['new_job'], occ: ['tech'] }],
  ['Office > Furniture > Standing Desks', 450, { occ: ['tech'] }],
  ['Office > Classroom > Classroom Supplies', 25, { occ: ['education'] }],
  ['Office > Classroom > Whiteboards', 60, { occ: ['education'] }],
  ['Office > Classroom > Teacher Planners', 20, { occ: ['education'] }],
  // General: Tools & DIY
  ['Tools & DIY > Power Tools > Drills', 120, { occ: ['trades'], ev: ['moved_home'] }],
  ['Tools & DIY > Power Tools > Circular Saws', 160, { occ: ['trades'] }],
  ['Tools & DIY > Hand Tools > Tool Sets', 80, { occ: ['trades'], ev: ['moved_home'] }],
  ['Tools & DIY > Hand Tools > Tape Measures', 15, { occ: ['trades'] }],
  ['Tools & DIY > Workwear > Safety Boots', 110, { occ: ['trades'] }],
  ['Tools & DIY > Workwear > Work Gloves', 15, { occ: ['trades'] }],
  ['Tools & DIY > Workwear > Hi-Vis Jackets', 30, { occ: ['trades'] }],
  ['Tools & DIY > Paint > Wall Paint', 40, { ev: ['moved_home'] }],
];

export const LEAVES: readonly LeafSpec[] = raw.map(([p, price, o = {}]) => {
  const parts = p.split(' > ');
  if (parts.length !== 3) throw new Error(`taxonomy: bad path ${p}`);
  const leaf: LeafSpec = {
    path: parts as [string, string, string],
    price,
    weight: o.w ?? 1,
    age: o.age ?? 0,
  };
  if (o.g) leaf.gender = o.g;
  if (o.occ) leaf.occupations = o.occ;
  if (o.ev) leaf.lifeEvents = o.ev;
  if (o.season) leaf.season = o.season;
  if (o.gift) leaf.gift = true;
  return leaf;
});

/** Top-level categories that are not interests. */
export const GENERAL_TOPS = ['Groceries', 'Household', 'Clothing', 'Baby', 'Office', 'Tools & DIY'] as const;

/** Top-level category name of an interest: the interest, title-cased. */
export function topOfInterest(interest: string): string {
  return interest.charAt(0).toUpperCase() + interest.slice(1);
}
