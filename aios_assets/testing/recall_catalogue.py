"""Life-event catalogue for the generated multi-session chats of ``aios_assets.testing.recall_devsets``.

A small line-based format keeps ~130 templates readable. A template starts with

    == key | topic | tags (comma list) | thing (short noun phrase) | requires (comma list)

and is followed by lines ``PREFIX: text``:

``slot NAME: a|b|c``   a value chosen once per event and used in every line of it
``S:``  the owner's first mention (must carry ``{rel}``/``{Rel}``: when it happened)
``A:``  the partner's follow-up question       ``D:``  the owner's answer with a detail
``U:``  a later callback / progress update (a later session)
``C s|d|u:`` caption of a photo shared with that turn (lands in the ``blip_caption`` key)
``Q|T|O|M <turns>: question => answer``: single-hop, temporal, open-domain, multi-hop;
``<turns>`` names the evidence turns among ``s``, ``d``, ``u`` (all updates)
``X: <turn>``  which turn names the event in the cross-event multi-hop questions (default s)

Placeholders: ``{name}`` the owner, ``{p}`` the partner, ``{rel}`` the relative time of the
event, ``{date}`` its resolved date (answers only), the template's slots and the owner's persona
slots (spouse, sprel, kid, kidrel, kid2, dog, breed, cat, sib, sibrel, friend, city, job, work,
hometown). ``requires`` may name: kids, dog, cat, spouse, unmarried.

``F topic:`` lines are small talk on a topic (distractors that share its words); the other
sections (``G``, ``GR``, ``BYE``, ``BYER``, ``R``, ``ASK``, ``NEW``, ``PHOTO``) are generic
conversation pools.
"""

CATALOGUE = r"""
# ---------------------------------------------------------------- pets
== adopt_dog | pets | pet,family | new {pupbreed} puppy |
slot pup: Biscuit|Waffles|Pepper|Mochi|Ziggy|Olive
slot pupbreed: beagle|corgi|golden retriever|border collie|dachshund|labrador
S: We brought home a little {pupbreed} {rel}! The house is total chaos and I love it.
S: Big news, {p}: {rel} we finally adopted a {pupbreed} from the rescue center. I'm smitten.
S: So {rel} I caved and got a {pupbreed} puppy. Eight weeks old and already running the house.
A: Aww!! What did you name the little one?
A: Oh my gosh, that's adorable! What's their name?
D: {pup}! It just suited them. They've already chewed through one of my slippers, haha.
D: We went with {pup}. The kids voted and that was the clear winner.
U: {pup} passed puppy school {rel}! Sits, stays, everything. I was a very proud parent.
U: Remember the little rescue I told you about? {pup} is twice the size now and obsessed with the park.
C s: a photo of a {pupbreed} puppy sleeping on a blanket
C u: a photo of a dog sitting on grass with a ribbon
Q s: What breed of puppy did {name} get? => a {pupbreed}
Q d: What is the name of {name}'s new puppy? => {pup}
T s: When did {name} adopt the puppy? => {date}
M su: How has {name}'s new dog been doing since the adoption? => adopted a {pupbreed}, later finished puppy training / grew up
O s: Would {name} likely be interested in volunteering at an animal shelter? => Likely yes; {name} adopted a rescue dog.
M sd: What breed is {name}'s new puppy, and what did they name it? => a {pupbreed} named {pup}

== adopt_cat | pets | pet | new kitten |
slot kit: Miso|Pickle|Juniper|Noodle|Clementine|Smokey
slot coat: tabby|black|ginger|tuxedo|calico
S: I got a new roommate {rel}... a tiny {coat} kitten! She hid under the couch for hours.
S: {Rel} I went to the shelter "just to look" and came home with a {coat} kitten. Oops.
A: A kitten!! Have you picked a name yet?
D: Her name is {kit}. She sleeps on my keyboard whenever I try to work.
D: {kit}! She's tiny but absolutely fearless.
U: {kit} is getting so big! She figured out how to open the cupboard {rel}, so now nothing is safe.
C s: a photo of a small {coat} kitten peeking out from under a sofa
Q s: What animal did {name} bring home from the shelter? => a {coat} kitten
Q d: What is the name of {name}'s kitten? => {kit}
T s: When did {name} get the kitten? => {date}
O s: Is {name} more likely a cat person or a dog person? => Probably a cat person; {name} adopted a kitten.
M sd: What kind of kitten did {name} adopt, and what is she called? => a {coat} kitten named {kit}

== vet_visit | pets | pet,health,sad | trip to the vet | dog
slot ate: a whole sock|half a chocolate bar|a tennis ball|some grapes|a rubber duck
S: Scary morning {rel} — {dog} ate {ate} and we rushed to the vet.
S: Had to take {dog} to the emergency vet {rel}. Apparently eating {ate} is a terrible idea. Who knew?
A: Oh no! Is {dog} okay?
D: He's fine now, thank goodness. They kept him a few hours and sent us home with a huge bill.
D: Yes, he's back to his usual goofy self. The vet said we caught it just in time.
Q s: What did {name}'s dog eat that sent him to the vet? => {ate}
T s: When did {name} rush the dog to the vet? => {date}
Q s: What is the name of {name}'s dog? => {dog}
M sd: What happened after {name}'s dog ate something it shouldn't have? => {ate}; a vet visit, he's fine now

== dog_training | pets | pet,learning | agility class | dog
slot trick: weave through poles|jump through a hoop|balance on a seesaw
S: {dog} and I started an agility class {rel}! He was terrible and he loved every second.
S: Guess who enrolled their dog in agility {rel}? {dog} ran the wrong way twice but I'm so proud.
A: Haha, that's amazing. What do they make the dogs do?
D: This week it was learning to {trick}. He got it on the fourth try!
U: {dog}'s agility class had a little competition {rel} and he came third! Ribbon is on the fridge.
C u: a photo of a {breed} running through an agility course
Q d: What skill was {name}'s dog working on in class? => to {trick}
T s: When did {name} sign the dog up for agility? => {date}
M su: What has {name}'s dog achieved in agility? => started agility, later placed third in a competition
O s: Would {name} enjoy watching a dog show? => Likely yes; {name} does agility with {dog}.

== foster_kittens | pets | pet,volunteer,community | foster kittens |
slot nkit: three|four|five
S: I signed up to foster kittens for the local shelter and {rel} the first litter arrived — {nkit} of them!
S: So I'm officially a foster parent now. {Rel} the shelter dropped off {nkit} tiny kittens.
A: That's so sweet! How are you managing?
D: Bottle feeding every few hours, so I'm running on coffee. Worth it though.
U: All of my foster kittens got adopted {rel}! I cried a little when the last one left.
C s: a photo of several tiny kittens in a cardboard box with a blanket
Q s: How many kittens did {name} foster? => {nkit}
T s: When did the foster kittens arrive at {name}'s place? => {date}
Q u: What happened to the kittens {name} was fostering? => they all got adopted
O s: Does {name} care about animal welfare? => Yes; {name} fosters kittens for the shelter.

== aquarium | pets | pet,home,relax | fish tank |
slot fish: neon tetras|guppies|a betta fish|angelfish
S: I set up a fish tank {rel}! Watching {fish} swim around is weirdly meditative.
S: New hobby alert: {rel} I bought a small aquarium and some {fish}.
A: Ooh, what kind of fish did you get?
D: {fish}! Plus a little castle, obviously.
U: The aquarium is thriving — I added live plants {rel} and the water's never been clearer.
C s: a photo of a small aquarium with colorful fish and plants
Q d: What fish does {name} keep? => {fish}
T s: When did {name} set up the aquarium? => {date}
O s: Would {name} enjoy a visit to a public aquarium? => Likely yes; {name} keeps fish at home.

# ---------------------------------------------------------------- arts
== pottery_class | arts | creative,relax,learning | pottery class |
slot piece: bowl|mug|vase|plate
S: I finally signed up for a pottery class {rel}! I've wanted to try it for years.
S: {Rel} I went to my very first pottery lesson. Getting my hands covered in clay was so relaxing!
S: Guess what, I started pottery {rel}! A little studio opened near my place and I just went for it.
A: No way! Did you make anything yet?
A: That sounds so calming. What was the first session like?
D: I made a lopsided little {piece}, haha. The teacher says everyone's first one wobbles.
D: We learned to center the clay on the wheel and I managed a tiny {piece}. I'm hooked.
U: Remember the pottery class I told you about? I glazed my first {piece} {rel} and it came out a lovely blue.
U: Clay update: I can finally throw a {piece} without it collapsing. It's become my favorite way to switch off.
C s: a photo of hands shaping clay on a pottery wheel
C u: a photo of a blue glazed ceramic {piece} on a wooden table
Q d: What was the first thing {name} made at the wheel? => a {piece}
T s: When did {name} start going to pottery? => {date}
O s: Would {name} likely enjoy a ceramics workshop? => Yes; {name} takes a pottery class.
M su: How has {name}'s pottery developed over time? => first a wobbly {piece}, later glazing and throwing pieces

== watercolor | arts | creative,relax | watercolor painting |
slot scene: a lake at sunset|a field of sunflowers|the harbor|my grandmother's house
S: I picked up watercolors again {rel}. I forgot how much I love painting.
S: {Rel} I spent the whole afternoon painting with watercolors. Best lazy Sunday in ages.
A: Oh nice, what did you paint?
D: {scene}. It's far from perfect, but I'm weirdly proud of it.
U: I finished another painting {rel} and my friend wants to frame it! Me, an artist, who knew.
C d: a watercolor painting of {scene}
Q d: What did {name} paint with watercolors? => {scene}
T s: When did {name} get back into painting? => {date}
O s: Would {name} appreciate a set of art supplies as a gift? => Yes; {name} paints with watercolors.
M sd: What did {name} paint after getting back into watercolors? => {scene}

== knitting | arts | creative,relax | knitting project |
slot item: a scarf|a beanie|baby booties|a sweater
S: So I taught myself to knit {rel} from YouTube videos. My fingers hurt but it's so soothing.
S: I started knitting {rel}! My grandma's old needles finally got some use.
A: Cute! What are you making?
D: {item}, very slowly. There are a few holes I'm calling "design choices."
U: Finished {item} {rel}! It only took about a hundred hours.
C u: a photo of a handmade knitted {item} on a bed
Q d: What is {name} knitting? => {item}
T s: When did {name} learn to knit? => {date}
O s: Would {name} enjoy a yarn store? => Likely yes; {name} knits.

== photography_course | arts | creative,learning,outdoor | photography course |
slot subj: street portraits|birds|night skies|old buildings
S: I signed up for an evening photography course {rel}. Finally learning what all the camera buttons do!
S: {Rel} I started a photography class at the community center. Manual mode is humbling.
A: That's cool! What do you like to shoot?
D: Mostly {subj}. I love how patient it makes me.
U: Our photography class had a little exhibition {rel} and two of my prints were in it!
C u: a photo of framed photographs hanging on a white wall
Q d: What does {name} like to photograph? => {subj}
T s: When did {name} begin the photography course? => {date}
M su: What came of {name}'s photography course? => learned manual mode; later had prints in a class exhibition
O s: Would {name} want a new camera lens as a present? => Likely yes; {name} is into photography.

== calligraphy | arts | creative,relax | calligraphy |
S: I picked up calligraphy {rel} and I've already filled half a notebook with fancy letters.
S: {Rel} I did a brush lettering workshop and now I want to hand-letter everything.
A: Ha, will you make me a birthday card?
D: Deal! I've been practising by writing out song lyrics, it's very zen.
Q s: What did {name} fill half a notebook with? => calligraphy / brush lettering
T s: When did {name} get into calligraphy? => {date}
O s: Would {name} like a set of fountain pens? => Likely yes; {name} does calligraphy.

== mural | arts | creative,community | community mural |
slot mural: a giant octopus|a forest of birds|a sunrise over the hills
S: I helped paint a mural at the youth center {rel}! My arms are covered in paint still.
S: {Rel} a bunch of us from the neighborhood painted a mural on the library wall.
A: Whoa, what's on it?
D: {mural}. I was in charge of the background, which was mostly just a lot of blue.
C s: a photo of people painting a colorful mural on a brick wall
Q d: What is depicted in the mural {name} helped paint? => {mural}
T s: When did {name} work on the mural? => {date}
O s: Is {name} likely to join other community art projects? => Likely yes; {name} helped paint a mural.

== art_show | arts | creative,career | art exhibition |
slot venue: a café downtown|a small gallery|the town hall
S: I have news: {rel} I found out some of my drawings will be shown at {venue}!
S: {Rel} I got an email saying my sketches were accepted for an exhibition at {venue}. I'm shaking.
A: {name}!! That's huge. When is the opening?
D: Next month. I'm nervous and excited in equal measure. I have to pick six pieces.
U: The exhibition opening was {rel} and I actually sold one drawing! Someone paid money for my art!
C u: a photo of a drawing framed on a gallery wall with people standing nearby
Q s: Where will {name}'s drawings be shown? => {venue}
T s: When did {name} learn that their drawings were accepted for a show? => {date}
M su: How did {name}'s art exhibition go? => drawings accepted at {venue}; sold one at the opening

# ---------------------------------------------------------------- music
== guitar_lessons | music | music,learning,relax | guitar lessons |
slot song: Wonderwall|Blackbird|Hotel California|a Taylor Swift song
S: I started guitar lessons {rel}! My fingertips are absolutely destroyed.
S: {Rel} I had my first guitar lesson. I've owned the guitar for ten years, so it was about time.
A: Nice! What's the first song you want to learn?
D: {song}, obviously. My teacher laughed but said it's doable.
U: Guitar update: I played {song} all the way through {rel} without stopping. Badly, but still!
C u: a photo of an acoustic guitar leaning against a chair
Q d: Which song is {name} learning on guitar? => {song}
T s: When did {name} start taking guitar lessons? => {date}
M su: How is {name} progressing on the guitar? => started lessons; later played {song} all the way through
O s: Would {name} enjoy playing guitar at an open mic night? => Possibly; {name} is learning guitar.

== choir | music | music,social,community | community choir |
S: I joined a community choir {rel}! I haven't sung in front of people since school.
S: So {rel} I went to my first choir rehearsal. Thirty strangers singing together, it gave me chills.
A: Aww, what part do you sing?
D: Alto! Apparently I'm "enthusiastic," which I'm choosing to take as a compliment.
U: Our choir had its winter concert {rel}. I only messed up one entrance!
C u: a photo of a choir performing on a stage with lights
Q d: What voice part does {name} sing? => alto
T s: When did {name} join the choir? => {date}
O s: Would {name} enjoy a musical theatre show? => Likely yes; {name} sings in a choir.

== concert | music | music,entertainment,social | {band} concert |
slot band: Coldplay|a jazz trio|Florence and the Machine|an orchestra playing film scores
S: I went to see {band} live {rel}! My ears are still ringing.
S: {Rel} I had the best night — {band} in concert, I sang along to everything.
A: Jealous!! How was it?
D: Unreal. The lights, the crowd, everything. I'd go again tomorrow.
C s: a photo of a crowded concert stage with colorful lights
Q s: Which performer did {name} see live? => {band}
T s: When did {name} go to the concert? => {date}
O s: Would {name} enjoy a music festival? => Likely yes; {name} loves live music.

== wrote_song | music | music,creative | song |
S: Don't laugh, but I wrote my first song {rel}. It's about my grandpa's old farm.
S: {Rel} I finally finished writing a song. Lyrics, chords, the works.
A: I'm not laughing, that's beautiful! Will you play it for me?
D: Maybe one day! It's just voice and piano for now. It made my mom cry.
Q s: What was the song {name} wrote about? => {name}'s grandpa's old farm
T s: When did {name} finish writing the song? => {date}
O s: Would {name} like songwriting software? => Likely yes; {name} writes songs.

== piano_recital | music | music,kids,family | piano recital | kids
S: {kid} had a piano recital {rel} and I was a nervous wreck in the audience.
S: {Rel} was {kid}'s first piano recital! I filmed the whole thing with shaking hands.
A: How did {kid} do?
D: Played beautifully, one little mistake and kept going like a pro. So proud.
C s: a photo of a child playing a grand piano on a stage
Q s: Which of {name}'s children performed in a recital? => {kid}
T s: When was {kid}'s piano recital? => {date}
O s: Is {name} supportive of their children's hobbies? => Yes; {name} goes to {kid}'s recitals.

# ---------------------------------------------------------------- fitness
== start_running | fitness | fitness,outdoor | running |
slot dist: 5K|three miles|four kilometers
S: I started running {rel}! Just {dist} and I thought I was dying, but I did it.
S: {Rel} I went for my first proper run in years. {dist} without stopping, can you believe it?
A: Whoa, good for you! What got you into it?
D: My doctor said I should move more, and honestly it clears my head better than anything.
U: Running update: I did my fastest {dist} {rel}! Those early mornings are paying off.
C u: a photo of running shoes on a trail next to a water bottle
Q s: What distance did {name} manage on the first run? => {dist}
T s: When did {name} take up running? => {date}
M su: How has {name}'s running improved? => started with {dist}; later ran their fastest {dist}
O s: Would {name} consider signing up for a charity fun run? => Likely yes; {name} runs regularly.

== half_marathon | fitness | fitness,goal | half marathon |
slot hm: 2:05|1:58|2:20|2:11
S: I did it, {p}!! I ran a half marathon {rel}! 21 kilometers, my legs are jelly.
S: {Rel} I crossed the finish line of my first half marathon. I cried at the end, not gonna lie.
A: OMG congratulations!! What was your time?
D: {hm}! Not fast but I never walked once.
C s: a photo of a medal hanging on a race bib
Q d: How long did it take {name} to finish the half marathon? => {hm}
T s: When did {name} run the half marathon? => {date}
O s: Is {name} likely to attempt a full marathon eventually? => Plausibly; {name} finished a half marathon.
M sd: What race did {name} complete, and in what time? => a half marathon in {hm}

== yoga | fitness | fitness,relax,wellbeing | yoga |
S: I went to my first yoga class {rel} and my back already feels better.
S: {Rel} a friend dragged me to a hot yoga class. I sweated out my entire soul and I'm going back.
A: Haha! Is it hard?
D: The balance poses are the worst. Tree pose and I are not friends yet.
U: Yoga is officially part of my routine — {rel} I finally held crow pose for five seconds!
Q s: What practice helped {name}'s back pain? => yoga
T s: When did {name} start doing yoga? => {date}
O s: Would {name} enjoy a yoga retreat? => Likely yes; {name} does yoga.

== gym_trainer | fitness | fitness,goal | personal trainer |
slot lift: deadlift|squat|bench press
S: I hired a personal trainer {rel}. I figured it's the only way I'll actually show up to the gym.
S: So {rel} I had my first session with a personal trainer and I can't lift my arms today.
A: Ouch! What does the trainer have you doing?
D: Lots of {lift} practice and core stuff. She's strict but really encouraging.
U: New personal best on the {lift} {rel}! My trainer literally cheered.
Q d: Which lift is {name} working on with the trainer? => the {lift}
T s: When did {name} start working with a personal trainer? => {date}
M su: What progress has {name} made with the trainer? => started training; later set a {lift} personal best

== swimming | fitness | fitness,learning | swimming lessons |
S: I signed up for adult swimming lessons {rel}. I never learned as a kid and I'm done being scared of water.
S: {Rel} I got in the pool for my first swimming lesson. Thirty-something and wearing a float, no shame!
A: That takes guts! How did it go?
D: I can float on my back now, which felt like a miracle.
U: I swam a full length of the pool {rel} without touching the side!
Q s: What was {name} never taught as a child? => how to swim
T s: When did {name} begin swimming lessons? => {date}
M su: How have {name}'s swimming lessons gone? => learned to float; later swam a full length
O s: Would {name} be comfortable on a snorkeling trip now? => Maybe; {name} is learning to swim.

== climbing | fitness | fitness,outdoor,social | bouldering |
S: My friend took me bouldering {rel}! My forearms are on fire.
S: {Rel} I tried indoor climbing for the first time. Way harder than it looks on Instagram.
A: Were you scared of the heights?
D: A bit, but the walls are short and there are big mats. I made it to the top of two routes.
C s: a photo of a person climbing a colorful indoor bouldering wall
Q s: What sport did {name} try at the climbing gym? => bouldering / indoor climbing
T s: When did {name} go bouldering for the first time? => {date}
O s: Would {name} enjoy an outdoor rock climbing trip? => Likely yes; {name} tried bouldering.

== cycling_club | fitness | fitness,outdoor,social | cycling club |
slot km: 40|60|80
S: I joined a cycling club {rel}! Our first group ride was {km} kilometers.
S: {Rel} I rode {km} km with a cycling club. Lycra and everything. Don't picture it.
A: Ha, I'm picturing it! Was it tough?
D: The hills nearly killed me but the coffee stop at the end made up for it.
Q s: How far was {name}'s first group ride? => {km} kilometers
T s: When did {name} join the cycling club? => {date}
O s: Would {name} enjoy a bike tour holiday? => Likely yes; {name} rides with a cycling club.

# ---------------------------------------------------------------- outdoors
== hiking_trip | outdoors | outdoor,fitness,relax,travel | hike at {trail} |
slot trail: Mount Rainier|the Lake District|the Blue Ridge Mountains|a trail near {hometown}
S: We went hiking at {trail} {rel}. The views at the top made every blister worth it.
S: {Rel} I spent the whole day on a trail at {trail}. Sore legs, full heart.
A: That sounds incredible! How long was the hike?
D: About twelve miles. We saw a deer right by the path!
C s: a photo of a mountain view from a hiking trail
Q s: Where did {name} go hiking? => {trail}
T s: When did {name} hike at {trail}? => {date}
Q d: What did {name} see by the path on the hike? => a deer
O s: Would {name} enjoy a national park holiday? => Likely yes; {name} hikes.
M sd: Where did {name} hike, and how long was it? => {trail}; about twelve miles

== camping | outdoors | outdoor,family,relax | camping trip {camp} |
slot camp: by a lake|in the forest|on the coast
S: We went camping {camp} {rel}! No phone signal for two whole days.
S: {Rel} we pitched a tent {camp}. Roasted marshmallows, terrible sleep, perfect weekend.
A: Love that! Did it rain?
D: Only the second night, and of course our tent leaked. We laughed about it though.
U: We're already planning the next camping trip — {rel} I bought a proper waterproof tent.
C s: a photo of a tent by a campfire at dusk
Q s: Where did {name} go camping? => {camp}
T s: When did {name} go camping? => {date}
Q d: What happened to {name}'s tent? => the tent leaked in the rain
O s: Would {name} want to go camping again? => Yes; {name} goes camping.
M sd: Where did {name} camp and what went wrong there? => {camp}; the tent leaked

== kayaking | outdoors | outdoor,fitness | kayaking |
S: I went kayaking for the first time {rel}! Only tipped over once.
S: {Rel} we rented kayaks and paddled down the river. I'm sunburnt but happy.
A: Ha, once is respectable! Where did you go?
D: Down the river near {hometown}. We saw herons the whole way.
Q s: What water activity did {name} try? => kayaking
T s: When did {name} go kayaking? => {date}
Q d: What birds did {name} see on the river? => herons
O s: Would {name} enjoy a rafting trip? => Likely yes; {name} enjoyed kayaking.

== birdwatching | outdoors | outdoor,relax,learning | birdwatching |
slot bird: a kingfisher|an owl|a woodpecker|a heron
S: I bought binoculars {rel} and now I'm officially into birdwatching.
S: {Rel} I joined a bird-spotting walk at the nature reserve. So peaceful.
A: Ha, you're officially a birder! Seen anything cool?
D: {bird}! I nearly screamed and scared it away.
Q d: What bird did {name} get excited about spotting? => {bird}
T s: When did {name} start birdwatching? => {date}
O s: Would {name} appreciate a field guide to local wildlife? => Likely yes; {name} birdwatches.

== beach_day | outdoors | outdoor,family,relax | beach day |
S: We spent {rel} at the beach. The kids built the most elaborate sandcastle I've ever seen.
S: {Rel} we had a lazy beach day — sun, sand, ice cream. Exactly what I needed.
A: Bliss! Was the water cold?
D: Freezing! I lasted about four minutes before running back to my towel.
C s: a photo of a sandcastle on a sunny beach
Q s: What did {name} do at the seaside? => spent a relaxing day at the beach (sandcastles, sun, ice cream)
T s: When did {name} go to the beach? => {date}
O s: Would {name} enjoy a beach holiday? => Likely yes; {name} enjoys beach days.

== stargazing | outdoors | outdoor,relax,learning | stargazing |
S: We drove out of the city {rel} to look at the stars. I saw the Milky Way for the first time!
S: {Rel} I went stargazing at a dark-sky park. I had no idea how many stars there are.
A: That sounds magical. Did you see any shooting stars?
D: Three! I made a wish on every single one.
Q s: What did {name} see for the first time away from the city lights? => the Milky Way
T s: When did {name} go stargazing? => {date}
O s: Would {name} enjoy a visit to a planetarium? => Likely yes; {name} loves stargazing.

# ---------------------------------------------------------------- travel
== trip_abroad | travel | travel | trip to {dest} |
slot dest: Japan|Portugal|Mexico|Iceland|Italy|Morocco|Vietnam
slot dish: ramen|pastéis de nata|tacos al pastor|fresh pasta|tagine|pho
S: I just got back from {dest} {rel}! Jet lag is real but it was the trip of a lifetime.
S: {Rel} I landed home after ten days in {dest}. My suitcase is still exploding on the floor.
A: Welcome back! What was the highlight?
D: The food, hands down. I ate {dish} basically every day.
U: I'm still dreaming about {dest} — {rel} I tried to cook {dish} at home and it was a disaster.
C s: a photo of a city street in {dest} with tourists
Q s: Which country did {name} spend ten days in? => {dest}
T s: When did {name} come back from {dest}? => {date}
Q d: What food did {name} love on the trip? => {dish}
O s: Would {name} enjoy a restaurant serving food from {dest}? => Likely yes; {name} loved the food in {dest}.
M sd: Which country did {name} visit, and what dish did they eat there every day? => {dest}; {dish}

== road_trip | travel | travel,outdoor,family | road trip along {route} |
slot route: the Pacific coast|Route 66|the Scottish Highlands|the Amalfi coast
S: We did a road trip along {route} {rel}. Eleven hours of driving and a thousand snacks.
S: {Rel} we wrapped up a week-long road trip on {route}. Singing in the car the whole time.
A: Amazing! Any favorite stop?
D: A tiny diner in the middle of nowhere with the best pie I've ever had.
C s: a photo of a car on a coastal highway
Q s: What route did {name}'s road trip follow? => {route}
T s: When did {name} finish the road trip? => {date}
Q d: What was {name}'s favorite stop on the road trip? => a tiny diner with great pie
O s: Would {name} go on another road trip soon? => Likely yes; {name} took a long road trip.

== weekend_getaway | travel | travel,partner,relax | getaway to {town} | spouse
slot town: a seaside town|a little village in the hills|a cabin by the lake|Paris
S: {spouse} surprised me with a weekend away in {town} {rel}! I didn't pack anything right.
S: {Rel} {spouse} and I snuck off to {town} for the weekend. No kids, no laptops.
A: So romantic! What did you two get up to?
D: Long walks, too much wine, and a massive breakfast every morning.
Q s: Where did {name} and {spouse} go for their getaway? => {town}
T s: When did {name} go away for the weekend with {spouse}? => {date}
O s: Is {name}'s relationship with {spouse} going well? => Seems so; they took a romantic getaway.

== visit_hometown | travel | travel,family | visit home |
S: I flew back to {hometown} {rel} to see everyone. It's been two years!
S: {Rel} I was back in {hometown} for the first time since the pandemic.
A: That must have been emotional. How was it?
D: My mom cooked all my childhood favorites. Everything looked smaller than I remembered.
Q s: Where did {name} grow up? => {hometown}
T s: When did {name} visit {hometown}? => {date}
O s: Is {name} close to their family? => Likely yes; {name} went home to see everyone.

== cruise | travel | travel,relax,family | cruise around {sea} |
slot sea: the Caribbean|the Greek islands|Norway's fjords|Alaska
S: We went on a cruise around {sea} {rel}! I've never eaten so much in my life.
S: {Rel} we got back from a week on a cruise ship — {sea}. My legs still feel the waves.
A: Fancy! Would you do it again?
D: Absolutely. Waking up somewhere new every morning was magical.
C s: a photo of a cruise ship docked in a harbor
Q s: Where did {name}'s cruise go? => {sea}
T s: When did {name} go on the cruise? => {date}
O s: Would {name} book another cruise? => Likely yes; {name} loved the cruise.

== work_trip | travel | travel,career | work trip to {wcity} |
slot wcity: Chicago|Berlin|Singapore|Toronto|Dublin
S: I was in {wcity} for work {rel}. Three days of meetings and zero sightseeing.
S: {Rel} the company sent me to {wcity} for a conference. Hotel coffee is a crime.
A: Did you at least get to see anything?
D: One evening walk along the river. It was gorgeous, I need to go back properly.
Q s: Which city did {name} travel to for work? => {wcity}
T s: When was {name} in {wcity} for work? => {date}
O s: Does {name}'s work take them to other cities? => Sometimes; {name} went to {wcity} for work.

== festival_trip | travel | travel,music,social | trip to {fest} |
slot fest: Glastonbury|Coachella|a folk festival in the countryside|a jazz festival in Montreal
S: We got back from {fest} {rel}! Four days of music, mud and zero sleep.
S: {Rel} I came home from {fest}. I need a week to recover.
A: Who was your favorite act?
D: A tiny band on the smallest stage, no idea who they were, but they were incredible.
C s: a photo of a crowd at an outdoor music festival at sunset
Q s: Which festival did {name} attend? => {fest}
T s: When did {name} go to {fest}? => {date}
O s: Would {name} enjoy camping at an event? => Likely yes; {name} went to a multi-day festival.

# ---------------------------------------------------------------- cooking
== sourdough | cooking | food,creative,relax | sourdough baking |
slot starter: Doughy Parton|Bread Pitt|Clint Yeastwood
S: I made my own sourdough starter {rel}. I named it {starter}.
S: {Rel} I baked my first sourdough loaf! It's dense as a brick but I'm proud.
A: Haha, love it! Is it hard?
D: It's all about patience. Feeding the starter every day is like having another pet.
U: Sourdough update: {rel} I finally got that open crumb! The loaf actually looked like a bakery one.
C u: a photo of a loaf of sourdough bread on a cutting board
Q s: What has {name} been baking? => sourdough bread
T s: When did {name} start the sourdough? => {date}
M su: How did {name}'s bread baking go? => started a sourdough starter; later baked a loaf with an open crumb
O s: Would {name} enjoy a bread-making workshop? => Likely yes; {name} bakes sourdough.

== cooking_class | cooking | food,learning,social | {cuisine} cooking class |
slot cuisine: Thai|Italian|Indian|Korean
S: I took a {cuisine} cooking class {rel}! I can finally make a curry that isn't sad.
S: {Rel} {friend} and I did a {cuisine} cooking class together. We burned the garlic twice.
A: Yum! What did you make?
D: A green curry and some spring rolls. I've made the curry twice more since.
Q s: What kind of cooking class did {name} take? => {cuisine}
T s: When did {name} take the cooking class? => {date}
O s: Would {name} sign up for another cooking class? => Likely yes; {name} takes cooking classes.
M sd: What dishes did {name} make in the {cuisine} class? => a green curry and spring rolls

== new_recipe | cooking | food,family | family recipe |
slot recipe: lasagna|chicken soup|apple pie|dumplings
S: I finally got my grandma's {recipe} recipe right {rel}. Tasted exactly like childhood.
S: {Rel} I cooked my grandmother's {recipe} for the whole family. Nobody spoke, they were too busy eating.
A: That's so special. Did she teach you?
D: She wrote it on a card before she passed. I keep it on the fridge.
Q s: Which family dish did {name} recreate? => grandma's {recipe}
T s: When did {name} make grandma's {recipe}? => {date}
O s: Does {name} value family traditions? => Yes; {name} cooks grandma's recipes.
M sd: Whose recipe did {name} cook, and how was it passed down? => grandma's {recipe}; written on a card

== restaurant | cooking | food,social,partner | restaurant |
slot cuisine: Ethiopian|sushi|Lebanese|Peruvian
S: We tried a new {cuisine} place downtown {rel}. Honestly the best meal I've had all year.
S: {Rel} I finally went to that {cuisine} restaurant everyone's raving about. Worth the hype.
A: Ooh, what did you order?
D: The tasting menu. Eight courses, and I'd happily eat all of them again.
Q s: What kind of restaurant did {name} try? => {cuisine}
T s: When did {name} try the new restaurant? => {date}
O s: Is {name} an adventurous eater? => Likely yes; {name} tries new cuisines.

== farmers_market | cooking | food,community,relax | farmers market |
S: I went to the farmers market {rel} and came home with way too many tomatoes.
S: {Rel} I started going to the Saturday farmers market. The bread stall alone is worth it.
A: Ha! What are you going to do with them all?
D: Sauce, salsa, more sauce. My kitchen looks like a crime scene.
Q s: Where has {name} been buying produce? => the farmers market
T s: When did {name} go to the farmers market? => {date}
O s: Does {name} care about eating local food? => Likely yes; {name} shops at the farmers market.

== plant_based | cooking | food,health,goal | plant-based diet |
S: I switched to a plant-based diet {rel}. I feel so much lighter already.
S: {Rel} I decided to go vegetarian for a month as an experiment.
A: Interesting! What's been the hardest part?
D: Cheese. Definitely cheese. And my family thinks I've lost it.
U: Still going with the plant-based thing! {rel} I made a lentil bolognese that fooled everyone.
Q s: What change did {name} make to their diet? => went plant-based / vegetarian
T s: When did {name} change their diet? => {date}
O s: Would {name} order a steak at a restaurant now? => Probably not; {name} eats plant-based.

== bbq | cooking | food,social,family | barbecue |
S: We had a big barbecue in the backyard {rel}. I grilled for about forty people!
S: {Rel} we threw a backyard barbecue for the whole street.
A: Sounds fun! What did you make?
D: Ribs, corn, a mountain of veggie skewers. My famous coleslaw too.
Q s: What did {name} host in the backyard? => a backyard barbecue
T s: When did {name} host the barbecue? => {date}
O s: Does {name} enjoy hosting people? => Likely yes; {name} threw a big barbecue.

# ---------------------------------------------------------------- career
== new_job | career | career,goal | new job |
slot newjob: product designer at a startup|head nurse at the children's hospital|senior analyst at a bank|teacher at a Montessori school
S: Huge news: I accepted a new job {rel}! I'll be a {newjob}.
S: {Rel} I signed the offer letter! Officially the new {newjob}.
A: WHAT! Congratulations!! How are you feeling?
D: Excited and terrified. It's a big step up, but I felt stuck at {work}.
U: Two weeks into the new job now. {rel} I led my first team meeting and nobody fell asleep.
Q s: What job did {name} accept? => {newjob}
T s: When did {name} accept the new job? => {date}
Q d: Where was {name} working before the new job? => {work}
M su: How has {name}'s new job been going? => accepted the {newjob} role; later led a first team meeting
M sd: What new role did {name} take, and why leave the old workplace? => {newjob}; felt stuck at {work}

== promotion | career | career,goal | promotion |
S: I got promoted {rel}!! My manager called me in and I thought I was in trouble.
S: {Rel} I finally got the promotion I've been working toward for two years.
A: Yes!! You've earned it. What's the new title?
D: Team lead! Five people report to me now. Terrifying.
Q s: What career milestone did {name} reach? => a promotion (to team lead)
T s: When did {name} get promoted? => {date}
Q d: How many people report to {name} now? => five
O s: Is {name} ambitious at work? => Likely yes; {name} worked two years for the promotion.
M sd: What is {name}'s new title after the promotion? => team lead with five reports

== big_deadline | career | career,stress | project deadline |
slot proj: the website relaunch|the annual report|the hospital audit|the product launch
S: We finally shipped {proj} {rel}. I slept twelve hours afterwards.
S: {Rel} was the deadline for {proj} and we made it with about ten minutes to spare.
A: Phew! Was it as stressful as it sounded?
D: Worse. But the team pulled together and my boss took us out for drinks after.
Q s: What project deadline did {name} just make it through? => {proj}
T s: When did {name}'s team hit the deadline? => {date}
O s: Does {name} work under a lot of pressure? => At times; {name} had a stressful deadline.

== own_business | career | career,goal,creative | own business |
slot biz: a candle shop|a bakery stall|a dog-walking company|a small design studio
S: Okay, I'm doing it. {Rel} I registered my own business — {biz}!
S: {Rel} I launched {biz} on the side. It's tiny but it's mine.
A: That's so brave! How's it going so far?
D: My first ten customers were all friends, but then a stranger ordered and I screamed.
U: The business is growing! {rel} I got my biggest order yet.
Q s: What business did {name} start? => {biz}
T s: When did {name} launch the business? => {date}
M su: How has {name}'s business grown? => launched {biz}; later got the biggest order yet
O s: Is {name} entrepreneurial? => Yes; {name} started {biz}.
M sd: What business did {name} start, and who were its first customers? => {biz}; friends

== conference_talk | career | career,goal,learning | conference talk |
slot talk: burnout in healthcare|accessible design|data privacy|teaching with games
S: I gave my first conference talk {rel}! About {talk}. My hands were shaking the whole time.
S: {Rel} I presented at a conference for the first time — a talk on {talk}.
A: That's amazing! How did the audience react?
D: People came up afterwards with questions. One person asked for my slides!
Q s: What was {name}'s conference talk about? => {talk}
T s: When did {name} give the talk? => {date}
O s: Is {name} comfortable with public speaking? => Growing more so; {name} spoke at a conference.

== quit_job | career | career,wellbeing,sad | quitting job |
S: I handed in my notice at {work} {rel}. I just couldn't do it anymore.
S: {Rel} I quit my job. No plan yet, just knew it was time.
A: Wow, big move. Are you okay?
D: Honestly relieved. I'm going to take a month off and figure out what I actually want.
Q s: Which workplace did {name} leave? => {work}
T s: When did {name} quit the job? => {date}
O s: Was {name} happy at their previous job? => No; {name} quit {work}.

== work_award | career | career | work award |
S: I won employee of the month {rel}! There's a tiny plaque with my name on it.
S: {Rel} my team gave me an award for the project I led. I had no idea it was coming.
A: You deserve it! What did they say about you?
D: That I kept everyone calm during the chaos. Which is funny, because inside I was screaming.
Q s: What award did {name} win at work? => an award (employee of the month)
T s: When did {name} receive the award? => {date}
O s: Do {name}'s colleagues appreciate them? => Yes; {name} won an award at work.

# ---------------------------------------------------------------- learning
== spanish | learning | learning,travel,goal | {lang} lessons |
slot lang: Spanish|Italian|Japanese|French
S: I started learning {lang} {rel}! Two lessons a week plus an app on the bus.
S: {Rel} I signed up for {lang} classes at the community college.
A: ¡Qué bien! Why {lang}?
D: I want to be able to talk to people properly when I travel. Also my brain needed a challenge.
U: {lang} progress: {rel} I had a whole conversation with a waiter without switching to English!
Q s: What language is {name} learning? => {lang}
T s: When did {name} start the language classes? => {date}
M su: How has {name}'s language learning progressed? => started {lang} classes; later held a whole conversation
O s: Would {name} enjoy a trip where {lang} is spoken? => Likely yes; {name} is learning {lang}.
M sd: Which language is {name} studying, and why? => {lang}; to talk with people when traveling

== online_course | learning | learning,career,tech | {course} course |
slot course: data science|UX design|bookkeeping|web development
S: I enrolled in an online course in {course} {rel}. Studying after work is rough, though.
S: {Rel} I started a {course} course online. Twelve weeks, lots of homework.
A: Impressive! Is it for work?
D: Sort of. I want options. I don't want to be doing the same thing in five years.
U: Finished the {course} course {rel}! Got my certificate and everything.
Q s: What subject is {name}'s online course? => {course}
T s: When did {name} enroll in the course? => {date}
M su: Did {name} complete the online course? => yes, started {course} and later earned the certificate

== graduation | learning | learning,goal,family | graduation |
slot degree: nursing degree|master's in social work|MBA|teaching certificate
S: I graduated {rel}! My {degree} is finally done!
S: {Rel} I walked across the stage and got my {degree}. My mom cried the entire ceremony.
A: Congratulations!!! All those late nights paid off.
D: They really did. I still can't believe I managed it while working full time.
C s: a photo of a person in a graduation gown holding a diploma
Q s: What qualification did {name} complete? => {degree}
T s: When did {name} get their {degree}? => {date}
O s: Is {name} hardworking? => Yes; {name} finished a {degree} while working.

== driving_test | learning | learning,vehicle,goal | driving test |
S: I passed my driving test {rel}!!! Third time lucky.
S: {Rel} I finally got my driver's license. No more begging for rides!
A: Finally! What was the hardest part?
D: Parallel parking, obviously. The examiner looked terrified.
Q s: What did {name} pass on the third attempt? => the driving test
T s: When did {name} get the driver's license? => {date}
O s: Can {name} drive now? => Yes; {name} passed the driving test.

== sign_language | learning | learning,community | sign language class |
S: I started a sign language class {rel}. A new colleague is deaf and I want to be able to chat with her.
S: {Rel} I took my first ASL lesson. My hands are slower than my brain.
A: That's really thoughtful. What can you say so far?
D: Hello, thank you, coffee, and "sorry I'm late," which is the most useful one.
Q s: Why did {name} start learning sign language? => to communicate with a deaf colleague
T s: When did {name} begin the sign language class? => {date}
O s: Is {name} considerate toward colleagues? => Yes; {name} learned sign language for a colleague.

# ---------------------------------------------------------------- kids
== first_day_school | kids | kids,family | first day of school | kids
S: {kid} had the first day of school {rel}. I cried in the car, {kid} didn't even look back.
S: {Rel} was {kid}'s very first day at school! New backpack and everything.
A: Aww! How did it go?
D: Came home saying the teacher is "the nicest person in the world." Huge relief.
C s: a photo of a child with a backpack standing by a school gate
Q s: Which of {name}'s kids started school? => {kid}
T s: When did {kid} start school? => {date}
O s: Is {name} an emotional parent? => Seems so; {name} cried on {kid}'s first school day.

== kid_birthday | kids | kids,family,celebration | birthday party | kids
slot theme: dinosaur|superhero|unicorn|space
S: We threw {kid} a {theme} birthday party {rel}. Twelve kids and a lot of sugar.
S: {Rel} was {kid}'s birthday! We did a {theme} theme, which meant I made a very ugly cake.
A: Haha, I bet it was perfect. Did {kid} love it?
D: Loved it. Wore the costume for three days straight afterwards.
C s: a photo of a {theme} birthday cake with candles
Q s: What was the theme of {kid}'s party? => {theme}
T s: When was {kid}'s birthday party? => {date}
O s: Does {name} enjoy planning celebrations? => Likely yes; {name} threw a themed party.
M sd: What kind of party did {kid} have, and how did {kid} like it? => a {theme} party; loved it

== kid_soccer | kids | kids,sports,family | soccer game | kids
S: {kid}'s soccer team won their first match {rel}! I was screaming on the sideline.
S: {Rel} {kid} scored a goal at soccer. First one ever!
A: Woohoo! What position does {kid} play?
D: Defense, mostly. Apparently the goal was "an accident," but we're counting it.
Q s: What sport does {kid} play? => soccer
T s: When did {kid}'s team win? => {date}
O s: Does {name} attend their children's games? => Yes; {name} cheered at {kid}'s soccer match.

== kid_bike | kids | kids,outdoor,family | learning to ride a bike | kids
S: {kid} learned to ride a bike without training wheels {rel}!
S: {Rel} {kid} took off on two wheels for the first time. I ran after them half the street.
A: Such a big milestone!
D: Huge. Scraped knee, big grin. Classic.
Q s: What did {kid} learn to do without training wheels? => ride a bike
T s: When did {kid} learn to ride a bike? => {date}
O s: Does {name} spend active time outside with their children? => Yes; {name} taught {kid} to ride a bike.

== parent_teacher | kids | kids,family | parent-teacher meeting | kids
S: Had the parent-teacher conference for {kid} {rel}. Apparently {kid} is "very chatty."
S: {Rel} I met {kid}'s teacher. Great at reading, terrible at sitting still.
A: Ha! Sounds like a normal kid. Anything to worry about?
D: Not really. They suggested more math practice at home, so we're doing puzzles at dinner.
Q s: What did {kid}'s teacher say at the meeting? => {kid} is chatty / can't sit still but reads well
T s: When was the parent-teacher conference? => {date}
Q d: What is {name} doing at home to help {kid} with math? => puzzles at dinner

== kid_drawing | kids | kids,creative,family | kid's art | kids
S: {kid} won a drawing contest at school {rel}! It was a picture of our family.
S: {Rel} {kid}'s drawing got picked for the school newsletter cover.
A: A little artist! What did they draw?
D: All of us, plus the dog drawn as big as the house. Accurate.
C s: a child's crayon drawing of a family and a big dog
Q s: What achievement did {kid} have at school? => won a drawing contest / drawing on newsletter cover
T s: When did {kid} win the drawing contest? => {date}
O s: Is {name}'s child artistic? => Yes; {kid} won a drawing contest.

# ---------------------------------------------------------------- family
== visit_parents | family | family,travel | visit to parents |
S: I spent {rel} at my parents' place. Dad's garden is out of control.
S: {Rel} I went home to see Mom and Dad. Mom still treats me like I'm twelve.
A: Aww, how are they doing?
D: Good! Dad just retired, so he has a lot of opinions about tomatoes now.
Q s: Who did {name} go to visit? => {name}'s parents
T s: When did {name} visit their parents? => {date}
Q d: What did {name}'s dad just do? => he retired

== sibling_wedding | family | family,celebration | sibling's wedding |
S: My {sibrel} {sib} got married {rel}! I gave a speech and only cried a little.
S: {Rel} was {sib}'s wedding. I was in charge of the speech and didn't trip once.
A: Oh how lovely! How was the speech received?
D: People laughed at the right parts! {sib} said it was perfect.
C s: a photo of a wedding couple under a flower arch
Q s: Whose wedding did {name} speak at? => {name}'s {sibrel} {sib}
T s: When did {sib} get married? => {date}
O s: Is {name} close with {sib}? => Yes; {name} gave the speech at {sib}'s wedding.
M sd: Whose wedding did {name} give a speech at, and how was it received? => {sib}'s; people laughed, {sib} loved it

== grandma_90 | family | family,celebration | grandma's birthday |
S: My grandma turned 90 {rel}! We had the whole family over, four generations in one room.
S: {Rel} we celebrated Grandma's 90th birthday. She danced more than any of us.
A: Ninety! What's her secret?
D: She says "a glass of red wine and minding your own business."
C s: a photo of an elderly woman blowing out candles on a birthday cake
Q s: How old did {name}'s grandma turn? => 90
T s: When was {name}'s grandmother's 90th birthday? => {date}
Q d: What is the grandmother's secret to a long life? => a glass of red wine and minding your own business
M sd: How old did {name}'s grandmother turn and what does she credit for it? => 90; red wine and minding her own business

== mom_surgery | family | family,health,sad | mom's surgery |
slot op: knee replacement|hip surgery|heart procedure
S: My mom had her {op} {rel}. I was at the hospital all day.
S: {Rel} Mom went in for her {op}. The waiting was the worst part.
A: Oh no, how is she doing?
D: The doctors said it went really well. She's already complaining about the hospital food.
U: Mom's recovering well from the surgery — {rel} she walked around the block on her own!
Q s: What surgery did {name}'s mom have? => {op}
T s: When did {name}'s mom have surgery? => {date}
M su: How has {name}'s mom been recovering from the surgery? => had {op}; later walked around the block alone

== family_reunion | family | family,social,celebration | family reunion |
S: We had a big family reunion {rel}. Eighty relatives and I knew maybe half.
S: {Rel} was the reunion on my dad's side. Cousins I hadn't seen in fifteen years!
A: Sounds chaotic in the best way. Any drama?
D: Only over the potato salad recipe, as per tradition.
Q s: What big family gathering did {name} attend? => a family reunion
T s: When was the family reunion? => {date}
O s: Does {name} come from a large family? => Yes; about eighty relatives came to the reunion.

== sibling_baby | family | family,celebration | new baby {babyname} |
slot babyname: Lily|Theo|Aria|Finn|Zoe
S: My {sibrel} {sib} had a baby {rel}! I'm officially the fun relative now.
S: {Rel} {sib} had the baby! A little one named {babyname}. I'm obsessed.
A: Congratulations! What's the baby's name?
D: {babyname}. Tiny fingers, loud lungs.
C d: a photo of a newborn baby wrapped in a blanket
Q d: What is the name of {sib}'s baby? => {babyname}
T s: When was {sib}'s baby born? => {date}
O s: Would {name} enjoy babysitting {sib}'s baby? => Likely yes; {name} is thrilled about the new baby.

# ---------------------------------------------------------------- romance
== anniversary | romance | partner,celebration | anniversary | spouse
slot years: five|ten|three|seven
S: {spouse} and I celebrated our {years}-year anniversary {rel}.
S: {Rel} was our anniversary, {years} years! {spouse} booked the restaurant where we had our first date.
A: Aww! How did you celebrate?
D: Dinner at our first-date spot, and then we walked by the river like old times.
Q s: How many years have {name} and {spouse} been together? => {years}
T s: When was {name}'s anniversary? => {date}
O s: Is {name}'s relationship a long-term one? => Yes; {years} years together.

== engagement | romance | partner,celebration,goal | engagement | unmarried
S: {spouse} proposed {rel}!!! I said yes, obviously.
S: {Rel} {spouse} got down on one knee at the lake. We're engaged!!
A: AAAH!!! Congratulations! Tell me everything!
D: It was at sunset by the water. I was so shocked I forgot to say yes at first.
U: Wedding planning has begun. {rel} we booked the venue — an old barn with fairy lights.
C s: a photo of a hand with an engagement ring at sunset
Q s: What big question did {spouse} ask {name}? => to marry them; they got engaged
T s: When did {name} get engaged? => {date}
M su: What wedding plans have {name} and {spouse} made? => engaged at sunset; later booked a barn venue
M sd: How and where did {spouse} propose to {name}? => on one knee at sunset by the water

== date_night | romance | partner,relax | date night | spouse
slot activity: a cooking class|salsa dancing|an escape room|a jazz club
S: {spouse} and I did {activity} for date night {rel}. So much fun.
S: {Rel} we finally got a babysitter and went to {activity}.
A: Cute! Would you do it again?
D: Definitely. We laughed the entire time. We need more nights like that.
Q s: What did {name} and {spouse} do on date night? => {activity}
T s: When was {name}'s date night? => {date}
O s: Does {name} make time for their partner? => Yes; they have date nights.

== partner_job | romance | partner,career | partner's new job | spouse
S: {spouse} got a new job {rel}! We celebrated with takeout and cheap champagne.
S: {Rel} {spouse} accepted a job offer. It means a shorter commute, finally.
A: Oh that's great news! What will they be doing?
D: Managing a team at a hospital. Way more suited to their skills.
Q s: What good news did {name}'s {sprel} get? => a new job
T s: When did {spouse} get the job offer? => {date}
Q d: What will {spouse} be doing in the new job? => managing a team at a hospital

== met_someone | romance | partner,social | new relationship |
slot datename: Alex|Jordan|Sam|Riley|Casey
S: So... I met someone {rel}. Their name is {datename} and we talked for four hours.
S: {Rel} I went on a date with {datename}, who I met at a friend's party. I'm giddy.
A: Ooh! Tell me more!
D: We're both obsessed with bad sci-fi movies. It's early but it feels easy.
U: Things with {datename} are going really well — {rel} they met my friends!
Q s: Who has {name} started seeing? => {datename}
T s: When did {name} meet {datename}? => {date}
M su: How are things going between {name} and {datename}? => met {datename}; later introduced them to friends

# ---------------------------------------------------------------- home
== moved | home | home,goal | move |
slot area: a little apartment downtown|a house near the park|a flat by the canal|a bungalow in the suburbs
S: We moved {rel}! Into {area}. Boxes everywhere.
S: {Rel} was moving day. We're in {area} now and I have never been more tired.
A: Exciting! How does it feel?
D: Like home already. The light in the kitchen is incredible.
U: Finally unpacked the last box {rel}! The new place feels cozy now.
C s: a photo of cardboard boxes stacked in an empty living room
Q s: Where did {name} move to? => {area}
T s: When was {name}'s moving day? => {date}
M su: Has {name} finished unpacking at the new place? => moved to {area}; later finished unpacking
M sd: Where did {name} move, and what do they love about the new place? => {area}; the light in the kitchen

== kitchen_reno | home | home | kitchen renovation |
S: The kitchen renovation finally started {rel}. We're washing dishes in the bathtub.
S: {Rel} the builders ripped out our old kitchen. No going back now.
A: Oh boy. How long will it take?
D: Six weeks, supposedly. I'm expecting ten.
U: The kitchen is DONE as of {rel}. Green cabinets, and I love them.
C u: a photo of a kitchen with green cabinets
Q s: What room is {name} remodeling? => the kitchen
T s: When did {name}'s kitchen renovation start? => {date}
Q u: What color cabinets did {name} choose? => green

== bought_house | home | home,goal,money | buying a house |
S: We got the keys to our first house {rel}! I still can't believe we own it.
S: {Rel} we closed on a house! Years of saving finally paid off.
A: Congrats!! What's it like?
D: Three bedrooms, a tiny garden, and a very squeaky staircase.
C s: a photo of a person holding house keys in front of a front door
Q s: What major purchase did {name} make? => their first house
T s: When did {name} get the keys to the house? => {date}
Q d: How many bedrooms does {name}'s house have? => three
M sd: What is {name}'s first house like? => three bedrooms, a tiny garden, a squeaky staircase

== furniture_diy | home | home,creative | DIY project |
slot diy: a bookshelf|a dining table|a garden bench
S: I built {diy} from scratch {rel}! Measured twice, cut once, swore many times.
S: {Rel} I finished a DIY project — {diy} made from old pallets.
A: Wow, handy! How did it turn out?
D: A little wonky, but sturdy. I'm ridiculously proud.
C s: a photo of a handmade wooden {diy}
Q s: What did {name} build from scratch? => {diy}
T s: When did {name} finish building {diy}? => {date}
O s: Would {name} enjoy a woodworking class? => Likely yes; {name} builds furniture.

== neighbor | home | home,social | neighbor |
S: Our new neighbors brought over cookies {rel}! Turns out they have kids the same age.
S: {Rel} we finally met the family next door. Really lovely people.
A: That's so nice. Good neighbors make all the difference.
D: Right? We're already planning a joint barbecue in the summer.
Q s: Who brought {name} cookies? => the new neighbors
T s: When did {name} meet the neighbors? => {date}

== power_outage | home | home,sad | storm |
S: We had a massive storm {rel} and lost power for two days.
S: {Rel} a tree fell on our street in the storm. No electricity, no internet.
A: Yikes! Are you all okay?
D: Yes, just bored. We played board games by candlelight like it was 1850.
Q s: What caused {name}'s power outage? => a big storm that knocked out power
T s: When did {name} lose power? => {date}
Q d: How did {name} pass the time without electricity? => board games by candlelight

# ---------------------------------------------------------------- garden
== veg_garden | garden | garden,outdoor,food,relax | vegetable garden |
slot veg: tomatoes|zucchini|strawberries|peppers
S: I planted a vegetable garden {rel}! Raised beds and everything.
S: {Rel} I dug up half the lawn to grow vegetables. My back hates me.
A: Nice! What are you growing?
D: Mostly {veg}, plus herbs. Fingers crossed something survives.
U: The garden is exploding — {rel} I picked my first {veg}!
C u: a photo of fresh {veg} in a basket in a garden
Q d: What crop is {name} growing? => {veg}
T s: When did {name} plant the vegetable garden? => {date}
M su: How did {name}'s garden do? => planted {veg}; later harvested the first {veg}
O s: Would {name} enjoy a subscription to a garden magazine? => Likely yes; {name} gardens.
M sd: What is {name} growing in the vegetable garden? => {veg} and herbs

== houseplants | garden | garden,home,relax | houseplants |
slot plant: monstera|fiddle leaf fig|snake plant|orchid
S: I officially became a plant person {rel} when I bought a {plant}. Now there are twelve.
S: {Rel} I bought a {plant} and now I'm obsessed. Send help.
A: Ha! Are they alive?
D: Mostly. I talk to them every morning, which my roommate finds concerning.
C s: a photo of a {plant} in a pot next to a sunny window
Q s: What plant kicked off {name}'s indoor plant collection? => a {plant}
T s: When did {name} become a plant person? => {date}
O s: Would {name} appreciate a gift voucher for a plant nursery? => Likely yes; {name} collects houseplants.

== planted_tree | garden | garden,family,community | tree planting |
slot tree: an apple tree|an oak|a cherry tree
S: We planted {tree} in the garden {rel} for my dad's memory.
S: {Rel} the whole family planted {tree} in the backyard.
A: What a lovely idea. Will you do something there each year?
D: Yes, a little picnic under it every spring. Dad would have liked that.
Q s: What kind of tree did {name} plant? => {tree}
T s: When did {name} plant the tree? => {date}
O s: Does {name} honor family members who have passed? => Yes; {name} planted a memorial tree.

== flower_show | garden | garden,outdoor,social | flower show |
slot flower: dahlias|roses|sunflowers
S: I entered my {flower} in the local flower show {rel}, and they got second place!
S: {Rel} my {flower} won a ribbon at the flower show!
A: Ooh fancy! How long have you been growing those?
D: Three summers. Lots of trial and error and aphids.
C s: a photo of {flower} with a second place ribbon
Q s: What flowers did {name} enter in the show? => {flower}
T s: When was the flower show? => {date}
O s: Is {name} a serious gardener? => Yes; {name} won a ribbon at a flower show.

# ---------------------------------------------------------------- health
== sprained_ankle | health | health,fitness,sad | sprained ankle |
S: I sprained my ankle {rel} stepping off a curb. Not even doing anything cool.
S: {Rel} I rolled my ankle badly. Crutches for two weeks, apparently.
A: Ouch! Are you doing okay?
D: Mostly bored. I've watched every cooking show on the planet.
U: Ankle update: {rel} I walked without the brace for the first time!
Q s: What happened to {name}'s ankle? => a sprained ankle
T s: When did {name} hurt their ankle? => {date}
M su: How is {name}'s ankle healing? => sprained ankle, crutches; later walked without a brace
O s: Should {name} join a hiking trip right after the injury? => Probably not; {name} sprained an ankle.

== flu | health | health,sad | flu |
S: I came down with the flu {rel} and I've never felt so sorry for myself.
S: {Rel} I came down with a nasty flu. Fever, the whole package.
A: Oh no, feel better soon! Is anyone looking after you?
D: {friend} dropped off soup and tissues. An angel.
Q s: What illness did {name} have? => the flu
T s: When did {name} come down with the flu? => {date}
Q d: Who brought {name} soup while ill? => {friend}
M sd: Who looked after {name} during the flu? => {friend}, who brought soup and tissues

== allergy | health | health,food,sad | allergy diagnosis |
slot allergen: peanuts|shellfish|gluten|dairy
S: Turns out I'm allergic to {allergen}. Found out {rel} after a scary reaction at dinner.
S: {Rel} an allergist confirmed I'm allergic to {allergen}. That explains a lot.
A: Scary! Do you have to carry medication now?
D: Yup, an EpiPen goes everywhere with me now.
Q s: What is {name} allergic to? => {allergen}
T s: When did {name} find out they were allergic to {allergen}? => {date}
O s: Should you serve {name} a dish with {allergen}? => No; {name} is allergic to {allergen}.
M sd: What is {name} allergic to and what do they carry now? => {allergen}; an EpiPen

== physio | health | health,fitness,sad | physical therapy |
S: I started physical therapy for my back {rel}. Turns out sitting all day is bad. Shocking.
S: {Rel} I had my first physio appointment for my shoulder.
A: Hope it helps! Is it painful?
D: The exercises are boring more than painful. But I do feel looser already.
Q s: What treatment is {name} getting? => physical therapy
T s: When did {name} begin physical therapy? => {date}

== knee_surgery | health | health,sad | knee surgery |
S: I had surgery on my knee {rel}. Old soccer injury finally caught up with me.
S: {Rel} I had the knee operation. It went well but I'm on the couch for a while.
A: Oh wow, rest up! How long is recovery?
D: A few months of rehab. I'm already going stir crazy.
U: Knee is getting better every week. {rel} I rode a stationary bike for twenty minutes!
Q s: What body part did {name} have operated on? => the knee
T s: When did {name} have the surgery? => {date}
M su: How is {name}'s recovery from surgery going? => knee surgery; later cycling on a stationary bike

== quit_caffeine | health | health,goal,wellbeing,sad | quitting coffee |
S: I quit caffeine {rel}. Day three, I have a headache the size of Texas.
S: {Rel} I decided to give up coffee for good. Send sympathy.
A: Brave! Why give it up?
D: My sleep has been awful. My doctor thinks the three espressos a day aren't helping.
Q s: What did {name} give up? => caffeine / coffee
T s: When did {name} give up coffee? => {date}
Q d: Why did {name} cut out caffeine? => poor sleep

# ---------------------------------------------------------------- wellbeing
== therapy | wellbeing | wellbeing,health | therapy |
S: I started seeing a therapist {rel}. It's something I've put off for way too long.
S: {Rel} I had my first counseling session. I cried, but in a good way.
A: I'm really proud of you for doing that. How did it feel?
D: Lighter. It's nice to talk to someone who isn't in my life.
Q s: What kind of support has {name} started getting for their mental health? => therapy / counseling
T s: When did {name} start seeing a therapist? => {date}
O s: Does {name} take mental health seriously? => Yes; {name} started therapy.

== meditation | wellbeing | wellbeing,relax | meditation |
S: I started meditating every morning {rel}. Just ten minutes, but it changes my whole day.
S: {Rel} I downloaded a meditation app and I've kept it up every day.
A: That's great! Is it hard to quiet your mind?
D: Terribly. My brain is a browser with fifty tabs. But it's getting easier.
Q s: What daily habit has {name} picked up? => meditating every morning
T s: When did {name} start meditating? => {date}
O s: Would {name} enjoy a silent retreat? => Possibly; {name} meditates daily.

== journaling | wellbeing | wellbeing,creative,relax | journaling |
S: I started journaling {rel}. Writing things down before bed really helps.
S: {Rel} {friend} gave me a journal and I've written in it every night since.
A: What do you write about?
D: Three good things from the day. Some days it's just "coffee was hot."
Q s: What nightly writing habit has {name} started? => journaling (three good things a day)
T s: When did {name} begin journaling? => {date}

== burnout | wellbeing | wellbeing,career,stress,sad | burnout |
S: I hit a wall at work {rel}. My doctor signed me off for two weeks with burnout.
S: {Rel} I finally admitted I'm burnt out. Taking some time off.
A: Oh {name}. Please be gentle with yourself.
D: I'm trying. Sleeping a lot, walking a lot, no emails.
U: Feeling so much better after the break. {rel} I went back to work with proper boundaries.
Q s: Why did {name} take time off work? => burnout
T s: When was {name} signed off with burnout? => {date}
M su: How did {name} recover from burnout? => took two weeks off; later returned with boundaries

== retreat | wellbeing | wellbeing,travel,relax | wellness retreat |
S: I went on a wellness retreat in the mountains {rel}. No phones allowed!
S: {Rel} I got back from a weekend retreat — yoga, silence, green juice.
A: How was it being offline?
D: First day was torture, then it was the best sleep I've had in years.
Q s: What kind of trip did {name} take to recharge? => a wellness retreat in the mountains
T s: When did {name} go on the retreat? => {date}
O s: Does {name} prioritize self-care? => Yes; {name} went on a wellness retreat.

# ---------------------------------------------------------------- volunteering
== food_bank | volunteering | volunteer,community | food bank |
S: I volunteered at the food bank {rel}. We packed over three hundred boxes.
S: {Rel} I spent the morning sorting donations at the food bank.
A: That's so good of you. Will you keep going?
D: Yes, I signed up for every second Saturday. It really puts things in perspective.
Q s: Where does {name} volunteer? => the food bank
T s: When did {name} volunteer at the food bank? => {date}
O s: Does {name} care about people in need? => Yes; {name} volunteers at the food bank.

== shelter_volunteer | volunteering | volunteer,pet,community | animal shelter volunteering |
S: I started walking dogs at the animal shelter {rel}. My heart can't take it, I want them all.
S: {Rel} I did my first volunteer shift at the shelter.
A: Ha! Have you fallen for one yet?
D: A senior greyhound called Duke. He leans on you for cuddles.
Q s: What does {name} do at the animal shelter? => walks the dogs as a volunteer
T s: When did {name} start volunteering at the shelter? => {date}
Q d: Which shelter dog did {name} fall for? => Duke, a senior greyhound
M sd: Which dog did {name} get attached to while volunteering? => Duke, a senior greyhound

== charity_run | volunteering | volunteer,fitness,community | charity run |
slot cause: cancer research|the children's hospital|mental health awareness
S: I ran a 10K for {cause} {rel}! We raised almost two thousand dollars.
S: {Rel} was the charity run for {cause}. I dressed up as a banana.
A: Amazing! Why that cause?
D: It's close to my heart. My aunt went through it a few years ago.
Q s: What was {name}'s charity run for? => {cause}
T s: When did {name} do the charity run? => {date}
O s: Would {name} support other fundraisers? => Likely yes; {name} ran for {cause}.
M sd: Why did {name} run for {cause}? => it's personal; an aunt went through it

== beach_cleanup | volunteering | volunteer,outdoor,community | beach cleanup |
S: A group of us did a beach cleanup {rel}. We filled forty bags of plastic.
S: {Rel} I joined a river cleanup. You wouldn't believe what people throw away.
A: Ugh, that's depressing but also amazing that you did it.
D: The weirdest thing we found was a whole bicycle. And a toilet seat.
Q s: What environmental activity did {name} take part in? => a beach/river cleanup
T s: When did {name} help with the cleanup? => {date}
O s: Does {name} care about the environment? => Yes; {name} joined a cleanup.

== mentoring | volunteering | volunteer,career,community | mentoring |
S: I signed up to mentor a teenager through a youth program {rel}.
S: {Rel} I met my mentee for the first time. She wants to be an engineer.
A: That's wonderful. What do you two do together?
D: We meet every week, talk about school and college applications. She's brilliant.
U: My mentee got into her first-choice college {rel}! I'm so proud of her.
Q s: Who does {name} mentor? => a teenager through a youth program
T s: When did {name} sign up to mentor a teenager? => {date}
M su: How is {name}'s mentee doing? => started mentoring a teen; later she got into her first-choice college

# ---------------------------------------------------------------- reading
== book_club | reading | reading,social | book club |
slot book: The Midnight Library|Pachinko|Where the Crawdads Sing|Project Hail Mary
S: I joined a book club {rel}! The first pick is {book}.
S: {Rel} I went to my first book club meeting. We discussed {book} for three hours.
A: Love that book! Did everyone like it?
D: Mostly. One guy hated it and argued with everyone. It was great.
Q s: What novel did {name}'s book club read first? => {book}
T s: When did {name} join the book club? => {date}
O s: Would {name} enjoy meeting the author of a book club pick? => Likely yes; {name} is in a book club.
M sd: What did {name}'s book club read, and how did the discussion go? => {book}; one member hated it and argued

== finished_novel | reading | reading,relax | novel |
slot novel: Lessons in Chemistry|The Seven Husbands of Evelyn Hugo|Circe|A Little Life
S: I finished reading {novel} {rel} and I'm still thinking about it.
S: {Rel} I stayed up till 2am finishing {novel}. Emotionally wrecked.
A: Ooh, would you recommend it?
D: Absolutely, but keep tissues nearby.
Q s: What novel did {name} finish reading? => {novel}
T s: When did {name} finish reading {novel}? => {date}

== writing_book | reading | reading,creative,goal | writing a novel |
slot genre: mystery|fantasy|romance|sci-fi
S: Okay, confession: I started writing a {genre} novel {rel}.
S: {Rel} I wrote the first chapter of my {genre} novel. Just 2,000 words but it's a start.
A: Whoa! What's it about?
D: A detective who can only solve crimes when it's raining. Don't steal it.
U: Novel update: I hit 30,000 words {rel}! The detective finally found the body.
Q s: What genre is {name}'s novel? => {genre}
T s: When did {name} begin writing the novel? => {date}
M su: How far has {name} gotten with the novel? => started a {genre} novel; later reached 30,000 words
M sd: What is the plot of {name}'s {genre} novel? => a detective who only solves crimes when it rains

== library_card | reading | reading,kids,family | library trips |
S: I took the kids to the library {rel} and they came home with twenty books.
S: {Rel} we did the summer reading challenge sign-up at the library.
A: Ha, that's a lot of bedtime stories!
D: They're making me do voices for every character. I'm exhausted.
Q s: Where did {name} take the kids to get books? => the library
T s: When did {name} take the kids to the library? => {date}

== poetry_reading | reading | reading,creative,social | poetry reading |
S: I read one of my poems at an open mic {rel}! My voice was shaking.
S: {Rel} I finally got up at the poetry night and read something I wrote.
A: That's so brave! What was the poem about?
D: My grandmother's hands. Somebody came up afterwards and hugged me.
Q s: What did {name} perform at the open mic? => a poem they wrote
T s: When did {name} read at the poetry night? => {date}
Q d: What was the subject of {name}'s poem? => their grandmother's hands

# ---------------------------------------------------------------- entertainment
== movie | entertainment | entertainment,relax | movie |
slot film: Dune|Oppenheimer|Barbie|Everything Everywhere All at Once
S: Finally saw {film} {rel}. I need to talk about it with someone.
S: {Rel} we went to see {film} at the cinema. Still processing.
A: Ooh! Did you love it?
D: Loved it. The soundtrack alone was worth the ticket.
Q s: Which film did {name} see at the cinema? => {film}
T s: When did {name} watch {film}? => {date}

== binge_show | entertainment | entertainment,relax | TV show |
slot show: The Bear|Ted Lasso|Succession|The Great British Bake Off
S: I binged the whole of {show} {rel}. No regrets.
S: {Rel} I started {show} and now it's 3am and I have work tomorrow.
A: Haha, isn't it so good?
D: So good. I cried at the finale, which is embarrassing.
Q s: What TV series did {name} binge? => {show}
T s: When did {name} binge {show}? => {date}

== board_games | entertainment | entertainment,social | board game night |
slot game: Catan|Ticket to Ride|Codenames|Wingspan
S: We had a board game night {rel}. {game} nearly ended three friendships.
S: {Rel} I hosted game night — {game} until midnight.
A: Haha! Who won?
D: Me, obviously. I'm not gracious about it either.
Q s: What game did {name} play with friends? => {game}
T s: When was {name}'s game night? => {date}
O s: Would {name} enjoy a board game café? => Yes; {name} plays board games and likes winning.
M sd: What did {name} play at game night and who won? => {game}; {name}

== video_game | entertainment | entertainment,relax,tech | video game |
slot vg: Zelda|Stardew Valley|Baldur's Gate|Mario Kart
S: I started {vg} {rel} and lost my entire weekend to it.
S: {Rel} I started playing {vg} and now I can't stop.
A: Ha, which part are you on?
D: Still near the beginning. I keep getting distracted by side quests.
Q s: What video game has {name} been playing? => {vg}
T s: When did {name} start playing {vg}? => {date}

== theater | entertainment | entertainment,social,creative | theater play |
slot play: Hamilton|a local production of Macbeth|The Phantom of the Opera
S: I went to see {play} {rel}! The costumes were unbelievable.
S: {Rel} {friend} took me to {play}. Goosebumps the whole time.
A: Jealous! Was it as good as they say?
D: Better. The lead actor's voice gave me chills.
Q s: What stage show did {name} see? => {play}
T s: When did {name} see {play}? => {date}
O s: Would {name} enjoy a musical? => Likely yes; {name} loves the theater.

== comedy_show | entertainment | entertainment,social | comedy show |
S: {friend} and I went to a stand-up comedy show {rel}. I laughed so hard I cried.
S: {Rel} I saw a comedian at a tiny club downtown. Best night out in months.
A: Ha! Any good jokes?
D: A whole bit about self-checkout machines. I can't explain it, it killed.
Q s: What kind of live show made {name} laugh? => stand-up comedy
T s: When did {name} go to the comedy club? => {date}

# ---------------------------------------------------------------- friends
== surprise_party | friends | social,celebration | surprise party |
S: We threw {friend} a surprise party {rel}! They had no clue.
S: {Rel} we pulled off a surprise party for {friend}'s 40th.
A: Ha, how did you keep it secret?
D: A fake dinner reservation and a lot of lying. Worth it for the look on their face.
Q s: Who did {name} organize a surprise party for? => {friend}
T s: When was the surprise party for {friend}? => {date}
O s: Is {name} a thoughtful friend? => Yes; {name} organized a surprise party.

== college_reunion | friends | social | college reunion |
S: I went to my ten-year college reunion {rel}. Everyone looks the same, just more tired.
S: {Rel} was my college reunion! I saw my old roommates after years.
A: Ha! Anyone surprise you?
D: My old roommate is a pilot now. She used to be scared of escalators.
Q s: What reunion did {name} attend? => their ten-year college reunion
T s: When was {name}'s college reunion? => {date}
Q d: What does {name}'s old roommate do now? => she's a pilot
M sd: Who surprised {name} at the reunion and why? => the old roommate, now a pilot, once scared of escalators

== karaoke | friends | social,music,entertainment | karaoke night |
slot ksong: Bohemian Rhapsody|Total Eclipse of the Heart|Dancing Queen
S: We went to karaoke {rel}. I sang {ksong} and the whole bar joined in.
S: {Rel} I did karaoke for the first time. {ksong}, full commitment.
A: I would pay money to see that!
D: There's a video. It will never see the light of day.
Q s: What song did {name} sing at karaoke? => {ksong}
T s: When did {name} do karaoke? => {date}
O s: Is {name} outgoing? => Likely yes; {name} sang karaoke in front of a bar.

== new_friend | friends | social | new friend |
slot nf: Priyanka|Marco|Beatriz|Tomás
S: I made a new friend at work {rel}, {nf}. We have lunch together every day now.
S: {Rel} I met {nf} at a pottery café and we've been texting nonstop.
A: Love that! Making friends as an adult is hard.
D: So hard! We both love terrible reality TV, so it was meant to be.
Q s: Who is {name}'s new friend? => {nf}
T s: When did {name} meet {nf}? => {date}

== housewarming | friends | social,home,celebration | housewarming |
S: {friend} had their housewarming {rel}. Their new place is gorgeous.
S: {Rel} we went to {friend}'s housewarming. I brought a plant, of course.
A: Fun! Nice neighborhood?
D: Lovely, right by the river. I'm a little jealous.
Q s: Whose housewarming party did {name} attend? => {friend}'s
T s: When was {friend}'s housewarming? => {date}

# ---------------------------------------------------------------- holidays
== thanksgiving | holidays | celebration,family,food | holiday dinner |
S: We hosted the big family holiday dinner {rel}. Twenty people, one oven.
S: {Rel} I cooked my first holiday dinner for the whole family. Nothing caught fire.
A: Impressive! What was on the menu?
D: A turkey, three kinds of potatoes, and my aunt's famous pie.
Q s: What big meal did {name} host? => the family holiday dinner
T s: When did {name} host holiday dinner? => {date}
O s: Does {name} like cooking for others? => Likely yes; {name} hosted dinner for twenty.

== own_birthday | holidays | celebration,social | birthday |
slot age: 30|35|40|28
S: It was my birthday {rel}! Officially {age}. Please don't remind me.
S: {Rel} I turned {age}. My friends took me out for dinner and embarrassed me with a cake.
A: Happy belated birthday!!! How does it feel?
D: Honestly great. I'm much happier than I was at twenty.
Q s: How old is {name} now after the birthday? => {age}
T s: When is {name}'s birthday? => {date}

== halloween | holidays | celebration,creative,kids | Halloween |
slot costume: a giant taco|the Mona Lisa|a haunted tree|a zombie chef
S: I went as {costume} for Halloween {rel}. Homemade costume, naturally.
S: {Rel} we did Halloween properly this year — I was {costume}.
A: HA! Please tell me there are photos.
D: There are many. I won the costume contest at the party.
C s: a photo of a person in a homemade Halloween costume
Q s: What was {name}'s Halloween costume? => {costume}
T s: When did {name} wear the {costume} costume? => {date}
Q d: What did {name} win at the Halloween party? => the costume contest
M sd: What was {name}'s Halloween costume, and did it win anything? => {costume}; the costume contest

== new_year | holidays | celebration,goal | New Year's resolution |
slot resolution: read fifty books|learn to swim|save for a house|run every week
S: My big resolution this year, which I made {rel}: {resolution}.
S: {Rel} I wrote down my goal for the year — {resolution}.
A: Love it! Think you'll stick to it?
D: I told everyone, so now I have to. Public shame is a great motivator.
Q s: What is {name}'s resolution for the year? => {resolution}
T s: When did {name} set the resolution? => {date}

== pride | holidays | community,celebration,social | pride parade |
S: I marched in the pride parade {rel}! So much love in one place.
S: {Rel} was the pride march. We painted our faces and danced for hours.
A: That sounds amazing! Who did you go with?
D: A big group from my support group. We made our own banner.
C s: a photo of a colorful pride parade with rainbow flags
Q s: What parade did {name} take part in? => the pride parade
T s: When did {name} march in the parade? => {date}
O s: Is {name} likely an ally or part of the LGBTQ community? => Yes; {name} marched at pride.

# ---------------------------------------------------------------- transport
== new_car | transport | vehicle,money | new car |
slot car: an electric hatchback|a secondhand van|a little red convertible
S: I bought a car {rel}! {car}. I keep going outside to look at it.
S: {Rel} I picked up my new car — {car}.
A: Ooh, congrats! Why that one?
D: Good on gas and fits the dog. Those were my only criteria.
C s: a photo of {car} parked on a street
Q s: What car did {name} buy? => {car}
T s: When did {name} buy the car? => {date}

== car_breakdown | transport | vehicle,stress,sad | breakdown |
S: My car broke down on the highway {rel}. Two hours waiting for the tow truck.
S: {Rel} the car died in the middle of a roundabout. Mortifying.
A: Nightmare! Is it fixable?
D: Apparently the alternator. Cheaper than I feared, at least.
Q s: What went wrong with {name}'s car? => it broke down (alternator)
T s: When did {name}'s car break down? => {date}

== bike_commute | transport | vehicle,fitness,outdoor | cycling to work |
S: I started biking to work {rel}. Forty minutes each way but I arrive happy.
S: {Rel} I sold my bus pass and bought a proper commuter bike.
A: Brave! What about rainy days?
D: I bought waterproofs. I look like a traffic cone but I stay dry.
Q s: How has {name} changed the way they get to work? => cycling instead of the bus
T s: When did {name} start riding a bike to work? => {date}
O s: Is {name} environmentally conscious? => Likely; {name} commutes by bike.

== motorbike | transport | vehicle,learning | motorcycle license |
S: I passed my motorcycle test {rel}! My mom is horrified.
S: {Rel} I got my motorbike license. Helmet hair forever.
A: Whoa! Are you getting a bike?
D: Saving up for a vintage one. Something with character.
Q s: What license did {name} recently obtain? => a motorcycle license
T s: When did {name} pass the motorcycle test? => {date}

# ---------------------------------------------------------------- money
== house_savings | money | money,goal,home | saving for a house |
S: I opened a savings account for a house deposit {rel}. Goodbye, takeout.
S: {Rel} we made a serious budget. The plan is a house in two years.
A: Smart! How are you cutting back?
D: No more eating out on weekdays, and I'm selling stuff I don't use.
U: The savings are going well — {rel} we hit the halfway mark!
Q s: What is {name} saving up for? => a house deposit
T s: When did {name} start saving for the deposit? => {date}
M su: How are {name}'s savings going? => started saving for a house; later reached the halfway mark

== sold_online | money | money,home | selling things online |
S: I sold my old bike online {rel}. Feels good to declutter.
S: {Rel} I started selling clothes I don't wear anymore. Made about three hundred bucks!
A: Nice! What will you do with the money?
D: Put it toward the trip fund. Every little bit helps.
Q s: How has {name} been making extra money? => selling old things online
T s: When did {name} sell stuff online? => {date}

== camera_purchase | money | money,creative,tech | new camera |
S: I splurged on a proper camera {rel}. A mirrorless one, I've wanted it for years.
S: {Rel} I bought a fancy camera. My bank account is crying.
A: Ooh! What are you going to shoot?
D: Everything. The dog, the sunsets, strangers' dogs.
C d: a photo of a sunset over rooftops
Q s: What did {name} splurge on? => a mirrorless camera
T s: When did {name} buy the camera? => {date}
O s: Would {name} enjoy a photo walk? => Likely yes; {name} bought a camera.

== side_hustle | money | money,career,creative | side hustle |
S: I started tutoring math on weekends {rel}. Extra cash, and I actually enjoy it.
S: {Rel} I started doing freelance editing on the side.
A: Nice! Is it hard to fit in?
D: Sunday afternoons mostly. It's worth it for the extra money.
Q s: What does {name} do to earn money on the side? => tutoring / freelance work on weekends
T s: When did {name} start the side job? => {date}

# ---------------------------------------------------------------- tech
== built_pc | tech | tech,creative | gaming PC |
S: I built my own computer {rel}! Only one screw left over, so that's fine.
S: {Rel} I finished building a PC from parts. It turned on first try!
A: Whoa! What will you use it for?
D: Games mostly, and some video editing.
Q s: What did {name} build from parts? => a computer
T s: When did {name} build the PC? => {date}

== started_blog | tech | tech,creative,reading | blog |
slot blogtopic: budget travel|plant care|vegan recipes|parenting
S: I started a blog about {blogtopic} {rel}! Ten readers so far, and eight are my family.
S: {Rel} I published my first blog post on {blogtopic}.
A: I'm going to be reader number eleven! What's the first post?
D: A beginner's guide. I rewrote it about fifteen times.
Q s: What is {name}'s blog about? => {blogtopic}
T s: When did {name} launch the blog? => {date}

== learn_coding | tech | tech,learning,career | coding |
S: I started learning to code {rel}. Python, just a free course for now.
S: {Rel} I wrote my first program! It just says hello, but still.
A: Nice! What do you want to build?
D: A little app to track my plants' watering. Very niche.
U: My coding is getting somewhere — {rel} my watering app actually worked!
Q s: Which programming language is {name} learning? => Python
T s: When did {name} start learning to code? => {date}
M su: What has {name} built while learning to code? => started Python; later a working plant-watering app

== smart_home | tech | tech,home | smart home |
S: We made the house "smart" {rel}. Now the lights turn on when I don't want them to.
S: {Rel} I installed smart speakers in every room.
A: Ha, does it actually help?
D: The kids use it to play the same song forty times a day.
Q s: What technology did {name} install at home? => smart home devices
T s: When did {name} set up the smart home? => {date}

# ---------------------------------------------------------------- community
== support_group | community | community,wellbeing,social | support group |
slot sg: grief|LGBTQ|new parents|chronic pain
S: I went to a {sg} support group {rel}. It was really powerful to hear other people's stories.
S: {Rel} I finally went to the {sg} support group I've been meaning to try.
A: That's a big step. How did you feel afterwards?
D: Understood. I didn't have to explain anything, everyone just got it.
U: I've kept going to the support group — {rel} I shared my own story for the first time.
Q s: What kind of support group did {name} attend? => a {sg} support group
T s: When did {name} go to the support group? => {date}
M su: How has {name}'s experience with the support group evolved? => first attended; later shared their own story

== rally | community | community,social | rally |
slot causer: climate action|affordable housing|teachers' pay
S: I went to a rally for {causer} {rel}. Thousands of people!
S: {Rel} I joined the march for {causer}.
A: Wow! Was it peaceful?
D: Completely. Families, dogs, homemade signs. Very hopeful.
Q s: What cause did {name} rally for? => {causer}
T s: When did {name} go to the rally? => {date}
O s: Is {name} politically engaged? => Likely yes; {name} marched for {causer}.

== town_council | community | community,career | council meeting |
S: I spoke at the town council meeting {rel} about the park closure. My knees were shaking.
S: {Rel} I stood up at the council meeting to argue for keeping the library open.
A: Go you! Did they listen?
D: They're "considering it." But people clapped, so that's something.
Q s: What civic meeting did {name} speak at? => the town council meeting
T s: When did {name} speak to the council? => {date}

== adoption_plan | community | family,goal,kids | adoption |
S: We've started the adoption process {rel}. First interview with the agency done.
S: {Rel} we filled out the adoption application. So many forms!
A: Oh wow, that's huge news! How are you feeling?
D: Hopeful and nervous. It could take a long time, but we're ready.
U: Adoption update: {rel} the home visit went really well!
Q s: What family plan is {name} pursuing? => adopting a child
T s: When did {name} start the adoption process? => {date}
M su: How far along is {name}'s adoption? => applied; later the home visit went well

== church_event | community | community,social,music | church bake sale |
S: We had the church bake sale {rel}. My brownies sold out in ten minutes!
S: {Rel} I helped run the bake sale at church.
A: Ha, your brownies are famous. How much did you raise?
D: About eight hundred dollars for the roof repair.
Q s: What did {name} sell at the bake sale? => brownies
T s: When was the bake sale? => {date}
Q d: What was the bake sale money for? => the roof repair

# ---------------------------------------------------------------- sports
== basketball_game | sports | sports,entertainment,social | basketball game |
slot team: the Celtics|the Lakers|the Bulls|the Knicks
S: I went to see {team} play {rel}! Courtside-ish seats, which means the third row.
S: {Rel} {friend} got tickets for {team}. We screamed ourselves hoarse.
A: Did they win?
D: By two points in the last second. Absolute chaos.
Q s: Which team did {name} go see play? => {team}
T s: When did {name} see {team} play? => {date}
O s: Is {name} a sports fan? => Yes; {name} goes to {team} games.

== rec_league | sports | sports,fitness,social | soccer league |
slot sport: volleyball|soccer|softball|ultimate frisbee
S: I joined a {sport} league {rel}! Mostly terrible players, which is perfect.
S: {Rel} I played my first game in the adult {sport} league.
A: Fun! How did the game go?
D: We lost, badly. But the post-game pizza made up for it.
U: Our {sport} team won a game {rel}! First win of the season!
Q s: What recreational league did {name} join? => {sport}
T s: When did {name} join the league? => {date}
M su: How is {name}'s team doing in the league? => joined {sport}; later got the first win of the season

== world_cup | sports | sports,entertainment,social | football match |
S: We watched the big final at the pub {rel}. I lost my voice.
S: {Rel} I stayed up to watch the final with the whole neighborhood.
A: What a match though!
D: Extra time! Penalties! My heart can't take it.
Q s: Where did {name} watch the final? => at the pub / with the neighborhood
T s: When did {name} watch the final? => {date}

== golf | sports | sports,outdoor,relax | golf |
S: My dad took me golfing {rel}. I lost six balls in the pond.
S: {Rel} I tried golf for the first time. It's just a long walk with frustration.
A: Ha! Did you hit any good shots?
D: One! It made me want to keep going, which is how they get you.
Q s: What sport did {name} try with their dad? => golf
T s: When did {name} first play golf? => {date}

== ski_trip | sports | sports,travel,outdoor | ski trip |
S: We went skiing {rel}! I spent more time on my butt than on my skis.
S: {Rel} I got back from a ski trip. Snowboarding lessons did not go well.
A: Ha, did you enjoy it though?
D: Loved it. The hot chocolate at the lodge was life-changing.
C s: a photo of snowy mountains and a ski lift
Q s: What winter sport did {name} try? => skiing / snowboarding
T s: When did {name} go skiing? => {date}
O s: Would {name} enjoy a winter holiday in the mountains? => Likely yes; {name} went skiing.

# ================================================================= filler (distractors)
F pets: Dogs really are the best company, aren't they?
F pets: I keep seeing puppies on my feed and it's dangerous.
F pets: My neighbor's cat sits on our porch every morning like she owns it.
F pets: Vet bills are no joke, honestly.
F pets: I always wanted a pet growing up but my parents said no.
F arts: I've always wished I was more creative.
F arts: Art classes seem so relaxing, I keep meaning to try one.
F arts: There's a new gallery opening near me, might check it out.
F arts: I love handmade stuff, it just has more soul.
F music: I've had the same song stuck in my head for three days.
F music: Live music just hits different.
F music: I used to play the piano as a kid, I forgot everything.
F music: Have you listened to anything good lately?
F fitness: I really need to get back into exercising.
F fitness: My gym membership is mostly a donation at this point.
F fitness: Running always looks so fun until I actually try it.
F fitness: Stretching in the morning has been good for me.
F outdoors: The weather has been perfect for being outside.
F outdoors: I miss being out in nature.
F outdoors: Fresh air fixes most things, I think.
F outdoors: We should plan a hike sometime when it warms up.
F travel: I have such bad wanderlust right now.
F travel: Airports stress me out so much.
F travel: I'd love to travel more this year.
F travel: Packing is my least favorite thing in the world.
F travel: Have you ever been to Japan? It's on my list.
F cooking: I've been eating way too much takeout lately.
F cooking: Cooking at home is so much cheaper, I really should do it more.
F cooking: I tried a new recipe and it was a disaster.
F cooking: Is there anything better than fresh bread?
F career: Work has been so hectic lately.
F career: Mondays are the worst, aren't they?
F career: I've been thinking about what I want to do long term.
F career: My boss keeps scheduling meetings at 5pm, it's criminal.
F learning: I love learning new things, even if I'm bad at them at first.
F learning: I keep saying I'll learn a language and then I don't.
F learning: Online courses are great but I never finish them.
F kids: Kids grow up so fast, it's scary.
F kids: School mornings are pure chaos in our house.
F kids: Parenting is the hardest job in the world.
F family: Family is everything, really.
F family: My parents call me every Sunday without fail.
F family: Holidays with the family can be a lot, but I love them.
F romance: Date nights are so important, I think.
F romance: Relationships take work, but the good ones are worth it.
F home: Our place is such a mess right now.
F home: I've been watching way too many home renovation shows.
F home: Rent is getting so expensive around here.
F garden: My plants are either thriving or dying, there is no in between.
F garden: Gardening is so calming.
F health: I've been sleeping terribly lately.
F health: There's some bug going around at work.
F health: I need to drink more water, honestly.
F health: Doctor's appointments always make me nervous.
F wellbeing: I've been trying to be kinder to myself lately.
F wellbeing: Self-care isn't selfish, I keep reminding myself.
F wellbeing: Some weeks just drain you, you know?
F volunteering: I've been meaning to volunteer somewhere.
F volunteering: Giving back feels so good.
F reading: I have a stack of books I haven't started yet.
F reading: I read a bit every night before bed.
F reading: Any book recommendations? I need something new.
F entertainment: I need a new show to watch.
F entertainment: Movie nights at home are the best.
F entertainment: I haven't been to the cinema in forever.
F friends: I've been trying to see friends more often.
F friends: It's hard to keep in touch with everyone as you get older.
F holidays: The holidays always sneak up on me.
F holidays: I love any excuse for cake.
F transport: Traffic has been awful this week.
F transport: I really need to get my car serviced.
F money: Everything is so expensive these days.
F money: I'm trying to save more this year.
F tech: My phone is on its last legs.
F tech: I spend way too much time on screens.
F community: Our neighborhood has such a nice community feel.
F community: It's good to be around people who understand you.
F sports: I'm not a big sports person, but I love a live game.
F sports: Our local team has been terrible this season.

F pets: Walking a dog every day must be good for you.
F pets: I swear animals can tell when you're sad.
F pets: Pet food has gotten so expensive.
F arts: I went to a museum a while back and just stared at one painting for ages.
F arts: My niece draws better than I do and she's seven.
F arts: I bought a sketchbook in January and it's still empty.
F music: My playlist is mostly the same ten songs.
F music: I wish I'd stuck with music lessons as a kid.
F music: Concert tickets are so pricey now.
F fitness: My step count this week has been embarrassing.
F fitness: I did a workout video yesterday and I'm still sore.
F fitness: Everyone at work is doing some fitness challenge.
F outdoors: I really want to spend more weekends outside.
F outdoors: The trails around here get so busy on Sundays.
F outdoors: Sunshine makes everything better.
F travel: My passport expires soon, I really need to renew it.
F travel: I've been looking at flights just to torture myself.
F travel: Road trips are underrated, honestly.
F cooking: Meal prep Sundays never last more than two weeks for me.
F cooking: I could eat pasta every day.
F cooking: I've been trying to eat more vegetables.
F career: I had back-to-back calls all day.
F career: My inbox is a disaster.
F career: Some days I wonder if I picked the right career.
F learning: YouTube has taught me more than school ever did.
F learning: I love a good documentary.
F kids: The school run is my least favorite part of the day.
F kids: Kids say the funniest things.
F family: I should call my grandma more often.
F family: My cousins and I have a group chat that never stops.
F romance: Couples who travel together stay together, right?
F romance: Finding time for each other is hard with everything going on.
F home: I keep rearranging the furniture.
F home: Our washing machine is making a strange noise again.
F garden: My balcony tomatoes are looking a bit sad.
F garden: I killed a cactus once. A cactus!
F health: My back has been stiff all week.
F health: I need to book a checkup.
F wellbeing: I've been trying to spend less time on my phone before bed.
F wellbeing: A long walk usually sorts my head out.
F volunteering: There's a charity thing at work next month.
F volunteering: I admire people who volunteer every week.
F reading: I've been listening to audiobooks on my commute.
F reading: I always fall asleep after two pages.
F entertainment: Everyone keeps telling me to watch that new series.
F entertainment: I fell asleep halfway through the movie last night.
F friends: Group chats are exhausting sometimes, ha.
F friends: I love that we can pick up right where we left off.
F holidays: I already have gift ideas for the holidays, which is a first.
F holidays: Birthdays feel different as you get older.
F transport: Parking downtown is impossible.
F transport: The trains were all delayed again.
F money: Rent went up again this year.
F money: I really need to start budgeting properly.
F tech: My laptop takes ten minutes to turn on.
F tech: I finally figured out how to use the smart TV.
F community: Our street has a group chat now and it's chaos.
F community: I love our little local coffee shop.
F sports: I only watch sports for the snacks, honestly.
F sports: The game last weekend was wild, apparently.
F misc: The weather has been all over the place this week.
F misc: I've had way too much coffee today.
F misc: This week has flown by.
F misc: I'm so tired, I could sleep for a year.
F misc: I can't believe it's already this time of year.
F misc: I spent the whole weekend doing absolutely nothing, and it was great.
F misc: I've been trying to get up earlier. It's not going well.
F misc: Everything feels so busy lately.

# ================================================================= generic pools
AGREE: Same here, honestly.
AGREE: Ha, tell me about it!
AGREE: Oh, I know exactly what you mean.
AGREE: So true.
AGREE: Right? It's the same for me.
AGREE: Totally agree.
AGREE: Haha, relatable.
AGREE: You're not the only one!
RSAD: Oh no, I'm so sorry, {p}.
RSAD: That sounds rough. Hang in there.
RSAD: Sending you a big hug.
RSAD: Ugh, that's the worst. Take care of yourself.
RSAD: Oh {p}, that's awful. Let me know if you need anything.
RSAD: I'm glad you're okay, though.
G: Hey {p}! It's been a while, how are you?
G: Hi {p}! So good to hear from you.
G: Hey {p}, long time no talk! What's new?
G: Hi {p}! I hope your week's been kinder than mine.
G: Hey {p}! I was just thinking about you.
G: {p}! How's everything going?
GR: Hey {p}! I'm good, busy as always. How about you?
GR: Hi {p}! All good here, thanks. So much has happened!
GR: Hey! Great to hear from you. Things have been a whirlwind.
GR: Hi {p}! Honestly, it's been a week. But I'm good!
BYE: I should run, but this was lovely. Talk soon!
BYE: Okay, I have to go make dinner. Catch up again soon!
BYE: Gotta go, {p}. Take care of yourself!
BYE: This was so nice. Let's not leave it so long next time!
BYER: Bye {p}! Talk soon.
BYER: Take care! Chat later.
BYER: Always good talking to you. Bye!
BYER: Definitely! Speak soon.
R: That's amazing, {p}!
R: Wow, I'm so happy for you!
R: Haha, I love that.
R: That sounds lovely.
R: Oh I'm so glad to hear that.
R: You deserve it, honestly.
R: That's so cool, {p}.
R: Aww, that's really sweet.
R: I'm so proud of you!
R: Ha, classic.
ASK: So what's new with you, {p}?
ASK: Anyway, enough about me. How have you been, {p}?
ASK: What about you? Anything exciting happening?
ASK: How are things on your end?
NEW: How is the {thing} going?
NEW: Any news about the {thing}?
NEW: Wait, whatever happened with the {thing}?
NEW: I've been meaning to ask, how's the {thing}?
PHOTO: a photo of a cup of coffee on a windowsill|Morning coffee with a view today.
PHOTO: a photo of a sunset over a city skyline|Look at the sky from my balcony tonight!
PHOTO: a photo of a plate of pancakes with berries|Sunday breakfast situation.
PHOTO: a photo of a rainy street with umbrellas|This has been the weather all week.
PHOTO: a photo of a cozy living room with a blanket and a book|My plans for the evening.
PHOTO: a photo of a park with autumn trees|The park was gorgeous this morning.
"""
