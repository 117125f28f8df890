"""Tilsvar's own word lists for moderation, sentiment and intent in da, sv, nb/nn, pl and en (written
for this project; the LDNOOBW lists in ``data/ldnoobw`` are added to the profanity lists at load time).

Entries are matched against ``text.lexicon_form`` (lower case, leetspeak undone, letter runs collapsed);
a trailing ``*`` matches any ending (compounds: "møgfirma", "skitföretag"). Groups: "nordic" applies to
da, sv, nb and nn alike, because short messages mix them and language ID confuses them.
"""

from __future__ import annotations

# --- profanity -------------------------------------------------------------------------------------
PROFANITY: dict[str, list[str]] = {
    "nordic": [
        "fandeme",
        "fanden",
        "fandens",
        "fuck*",
        "fucking",
        "fucked",
        "føk*",
        "kraftedeme",
        "kraftidemig",
        "satans",
        "sateme",
        "for helvede",
        "helvede",
        "helvedes",
        "lort",
        "lorte*",
        "pis",
        "pisse*",
        "møg",
        "møgfirma",
        "møgselskab",
        "møgbutik",
        "møgdyr",
        "skide*",
        "skid",
        "røv*",
        "pikhoved",
        "pik",
        "kælling",
        "luder",
        "fisse*",
        "kneppe",
        "knep",
        "jævla",
        "jævlig*",
        "jävla",
        "jävlar",
        "jävligt",
        "javla",
        "fan också",
        "fy fan",
        "fy faen",
        "faen",
        "faens",
        "faan",
        "helvete",
        "helvetes",
        "skit",
        "skitföretag",
        "skitbolag",
        "skitsnack",
        "skiten",
        "dritt",
        "drittfirma",
        "drittselskap",
        "drittsekk",
        "dritten",
        "kuk*",
        "fitta",
        "fitte",
        "hora",
        "hore",
        "horunge",
        "jævel",
        "jävel",
        "pikk",
        "ræva",
        "rassgat",
        "satan",
        "shit*",
        "bullshit",
        "wtf",
        "stfu",
        "idiotfirma",
        "idiotselskab",
        "svinepris*",
        "forbandede",
        "forbannede",
        "forbanna",
        "forbannet",
        "skitsnakk",
    ],
    "pl": [
        "kurwa",
        "kurwy",
        "kurwo",
        "kurew",
        "kurewsk*",
        "chuj*",
        "huj*",
        "jebać",
        "jebac",
        "jeban*",
        "jebie",
        "jebią",
        "pierdol*",
        "spierdal*",
        "wypierdal*",
        "zajeban*",
        "skurwysyn*",
        "skurwiel*",
        "pizda",
        "pizdy",
        "gówno",
        "gówna",
        "gowno",
        "dupa",
        "dupek",
        "dupy",
        "cholera",
        "kurde",
        "fuck*",
        "shit",
        "wkurw*",
        "suka",
        "dziwka",
        "cwel",
        "pojeb*",
        "popierdol*",
        "debil*",
        "kutas*",
    ],
    "en": [
        "fuck*",
        "motherfuck*",
        "shit*",
        "bullshit",
        "crap",
        "crappy",
        "damn",
        "goddamn*",
        "bitch*",
        "bastard*",
        "asshole*",
        "arsehole*",
        "dick",
        "dickhead",
        "cunt*",
        "piss*",
        "wtf",
        "stfu",
        "bloody hell",
        "prick",
        "twat",
        "wanker",
        "bollocks",
        "douche*",
        "dumbass",
    ],
}
#: LDNOOBW entries that are ordinary words in the languages named (never matched there)
NOT_PROFANE: dict[str, set[str]] = {
    "nordic": {
        "hård",
        "stake",
        "sås",
        "olla",
        "mutta",
        "pippa",
        "pök",
        "prutt",
        "tusan",
        "sinnsykt",
        "pokker",
        "fanken",
        "anus",
        "moona",
        "moonade",
        "moonar",
        "moonat",
        "brutta",
        "pitt",
        "sätta på",
        "subba",
        "kötthuvud",
        "köttnacke",
        "fan",
        "neger",
        "pakkis",
        "nigger",
        "arsle",
    },
    "pl": {
        "jajko",
        "jajco",
        "syf",
        "cyc",
        "zajebisty",
        "rzygać",
        "dmuchać",
        "duperele",
        "pierdoła",
        "pierdzieć",
        "burdel",
        "sraczka",
    },
    "en": {
        "hooker",
        "escort",
        "bondage",
        "nude",
        "nudity",
        "sex",
        "sexy",
        "pissed",
        "xx",
        "xxx",
        "date rape",
        "beaver",
        "camel toe",
        "cock",
        "cocks",
        "bung hole",
        "ball",
        "balls",
        "black cock",
        "god",
    },
}

# --- insults (aimed at a person when a second-person or name pattern surrounds them) -----------------
INSULTS = [
    "idiot",
    "idioter",
    "idioten",
    "idiota",
    "idioto",
    "idioci",
    "idiotisk",
    "idiotiske",
    "idiotic",
    "dum",
    "dumme",
    "dumt",
    "dumma",
    "dumbass",
    "dumskalle",
    "dumskaller",
    "dumskallar",
    "dumme svin",
    "tumskalle",
    "fjols",
    "fjolser",
    "fjolset",
    "fjolsene",
    "fjolsen",
    "tåbe",
    "tåber",
    "tumpe",
    "tumper",
    "tulling",
    "tullinger",
    "fjott",
    "pucko",
    "tönt",
    "töntar",
    "mupp",
    "fjoller",
    "klaphat",
    "klaphatte",
    "klaphatten",
    "klaphattene",
    "klovn",
    "klovne",
    "klovnen",
    "klovner",
    "klovnene",
    "klovnerne",
    "clowns",
    "clownen",
    "clowner",
    "clown",
    "nar",
    "narre",
    "narren",
    "narr",
    "taber",
    "taberen",
    "tabere",
    "loser",
    "losers",
    "moron",
    "morons",
    "stupid",
    "retard",
    "retarded",
    "spasser",
    "spassere",
    "spasserne",
    "spast",
    "mongol",
    "mongo",
    "åndssvag",
    "åndssvage",
    "hjernedød",
    "hjernedøde",
    "braindead",
    "imbecil",
    "imbecile",
    "kretyn",
    "debil",
    "debile",
    "głupi",
    "głupia",
    "głupku",
    "frajer",
    "głupek",
    "dureń",
    "palant",
    "palancie",
    "gnida",
    "menda",
    "pajac",
    "matoł",
    "baran",
    "kretynie",
    "idiotą",
    "debilem",
    "kusipää",
    "ääliö",
    "svin",
    "svinet",
    "pig",
    "scum",
    "trash",
    "worthless",
    "useless",
    "ubrugelig",
    "ubrugelige",
    "värdelös",
    "värdelösa",
    "verdiløs",
    "udueligt",
    "inkompetent",
    "inkompetente",
    "incompetent",
    "pathetic",
    "patetisk",
    "patetiske",
    "ynkelig",
    "ynkelige",
    "løgner",
    "løgnere",
    "lögnare",
    "liar",
    "liars",
    "kłamca",
    "kłamcy",
    "dust",
    "pikhoved",
    "røvhul",
    "asshole",
    "dickhead",
    "rövhål",
    "drittsekk",
    "kælling",
    "bitch",
    "skurwysyn",
    "skurwysynu",
    "cwel",
    "tosk",
    "tosken",
    "toskene",
    "tosker",
    "fæ",
    "nolla",
]
#: words that turn an insult towards the reader ("du er en idiot", "you are an idiot", "din idiot")
SECOND_PERSON = [
    r"du\s+(?:er|är|e|ær)",
    r"i\s+er",
    r"ni\s+är",
    r"dere\s+er",
    r"you\s*(?:are|r|'re|’re)",
    r"ur",
    r"you",
    r"din",
    r"dit",
    r"dine",
    r"ditt",
    r"jesteś",
    r"jestes",
    r"jesteście",
    r"ty",
    r"olet",
    r"te\s+olette",
    r"sikke\s+en",
    r"sikke\s+nogle",
    r"for\s+en",
    r"vilken",
    r"what\s+an?",
    r"your",
    r"jeres",
    r"era",
]
#: "X er en idiot" — a named person or staff member
NAMED_VERBS = r"(?:er|är|e|is|jest|on|ist|was|var)"

# --- threats ---------------------------------------------------------------------------------------
THREATS = [
    r"(?:jeg|vi)\s+(?:slår|dræber|smadrer|finder|banker)\s+(?:dig|jer|ham|hende)",
    r"(?:jag|vi)\s+(?:ska|skall)\s+(?:döda|slå|hitta|spöa)\s+(?:dig|er|honom|henne)",
    r"(?:jeg|vi)\s+(?:skal|kommer\s+til\s+at|vil)\s+(?:drepe|slå|finne|knuse|dræbe|smadre|banke)\s+(?:deg|dere|dig|jer)",
    r"(?:i|we)\s*(?:'ll|’ll|\s+will|\s+am\s+going\s+to|\s+gonna)\s+(?:kill|hurt|find|beat|shoot|stab|burn)",
    r"(?:zabiję|zajebię|znajdę|dopadnę|zatłukę)\s*(?:cię|was|go|ją)?",
    r"(?:jeg|jag)\s+ved\s+hvor\s+(?:du|i)\s+bor",
    r"(?:jeg|jag)\s+(?:vet|veit)\s+(?:hvor|var)\s+(?:du|dere|ni)\s+bor",
    r"i\s+know\s+where\s+you\s+live",
    r"wiem\s+gdzie\s+mieszkasz",
    r"watch\s+your\s+back",
    r"you(?:'re|’re|\s+are)\s+dead",
    r"du\s+er\s+død",
    r"du\s+är\s+död",
    r"du\s+skal\s+dø",
    r"du\s+ska\s+dö",
    r"(?:bombe|bomb|spränga|sprænge|sprenge)\s+(?:jer|er|dere|you|your)",
    r"kill\s+your(?:self)?",
    r"kys\b",
    r"dræb\s+dig\s+selv",
    r"døde\s+jer",
    r"slå\s+dig\s+ihjel",
    r"slå\s+deg\s+i\s+hjel",
    r"skjut(?:a)?\s+(?:dig|er)",
    r"skyde\s+(?:dig|jer)",
    r"skyte\s+(?:deg|dere)",
    r"hope\s+you\s+die",
    r"håber\s+(?:du|i)\s+dør",
    r"hoppas\s+(?:du|ni)\s+dör",
    r"håper\s+(?:du|dere)\s+dør",
    r"obyś\s+zdechł",
]

# --- hate (slurs and group-directed dehumanisation) ------------------------------------------------
HATE_WORDS = [
    "perker",
    "perkere",
    "perkerne",
    "nigger*",
    "nigga*",
    "neger",
    "negre",
    "negrer",
    "faggot*",
    "fag",
    "bøsserøv",
    "bøssekarl",
    "svans",
    "pedał*",
    "pedal",
    "ciota",
    "ciapaty",
    "ciapate",
    "żydostwo",
    "muzzie",
    "muzzies",
    "muslimsvin",
    "kameljockey",
    "kamelknullare",
    "sandneger",
    "blatte",
    "blattar",
    "svartskalle",
    "svartskallar",
    "zigenare",
    "sigøjnerpak",
    "pakkis",
    "pakis",
    "kike",
    "kikes",
    "tranny",
    "trannies",
    "spic",
    "spics",
    "chink",
    "chinks",
    "untermensch*",
    "parasitter",
    "kakerlakker",
    "rotter",
    "kackerlackor",
    "karaluchy",
]
HATE_PATTERNS = [
    r"(?:alle|all|wszyscy|kaikki)\s+\w+\s+(?:skal|ska|should|must|powinni|pitäisi)\s+(?:dø|dö|die|ud|ut|out|umrzeć|kuolla|deporteres|deporteras|be\s+deported)",
    r"(?:send|smid|kast|skicka)\s+(?:dem|them|de)\s+(?:hjem|hem|home|ud|ut|out)",
    r"gas\s+the",
    r"heil\s+hitler",
    r"sieg\s+heil",
    r"white\s+power",
    r"white\s+pride",
]

# --- spam and advertising --------------------------------------------------------------------------
SPAM_PATTERNS = [
    r"(?:earn|make)\s+\$?\d+",
    r"tjen\s+(?:\d+|penge)",
    r"tjäna\s+(?:\d+|pengar)",
    r"tjen\s+penger",
    r"zarabiaj",
    r"zarób",
    r"bitcoin",
    r"crypto",
    r"krypto",
    r"forex",
    r"nft\b",
    r"investment\s+opportunit",
    r"check\s+(?:out\s+)?my\s+(?:profile|page|bio)",
    r"link\s+in\s+(?:my\s+)?bio",
    r"dm\s+me\s+for",
    r"follow\s+(?:me|back)",
    r"f4f",
    r"sub4sub",
    r"free\s+(?:followers|likes|iphone|money|gift)",
    r"gratis\s+(?:følgere|följare|iphone|penge|pengar)",
    r"click\s+(?:here|the\s+link)",
    r"klik\s+her",
    r"klicka\s+här",
    r"kliknij",
    r"whatsapp\s*\+?\d",
    r"telegram\s*@",
    r"onlyfans",
    r"hot\s+singles",
    r"sexy\s+(?:girls|singles)",
    r"\bxxx\b",
    r"casino",
    r"kasino",
    r"kasyno",
    r"betting\s+tips",
    r"you\s+(?:have\s+)?won",
    r"du\s+har\s+vundet",
    r"du\s+har\s+vunnit",
    r"wygrałeś",
    r"claim\s+your",
    r"100%\s+(?:free|gratis|guaranteed)",
    r"work\s+from\s+home",
    r"arbejd\s+hjemmefra",
    r"sugar\s+daddy",
]
ADVERTISING_PATTERNS = [
    r"(?:rabat|promo|kampanj|discount|coupon|kupon|voucher|rabatt)\s*-?\s*(?:kode|kod|code|koden|koden:)",
    r"use\s+(?:my\s+)?code",
    r"brug\s+(?:min\s+)?kode",
    r"använd\s+(?:min\s+)?kod",
    r"bruk\s+(?:min\s+)?kode",
    r"użyj\s+kodu",
    r"\d+\s*%\s*(?:off|rabat|rabatt|zniżki|zniżka|alennus)",
    r"shop\s+now",
    r"køb\s+nu",
    r"köp\s+nu",
    r"kjøp\s+nå",
    r"kup\s+teraz",
    r"visit\s+(?:my|our)\s+(?:shop|store|site|website)",
    r"besøg\s+(?:min|vores)\s+(?:shop|butik|side|hjemmeside)",
    r"besök\s+(?:min|vår)\s+(?:butik|sida|hemsida)",
    r"order\s+(?:now|today)",
    r"bestil\s+(?:nu|i\s+dag)",
    r"beställ\s+(?:nu|idag)",
    r"best\s+prices?",
    r"billigste\s+priser",
    r"billigaste\s+priserna",
    r"najtańsze",
    r"cheap(?:est)?\s+\w+\s+(?:here|at)",
]
#: recommending someone else: "køb hos X", "tag hellere X" — X is a competitor named in the context
COMPETITOR_CUES = [
    r"(?:køb|handl|bestil|tag|brug|vælg|prøv|skift\s+til)\s+(?:hellere\s+|hos\s+|med\s+)*",
    r"(?:köp|handla|beställ|ta|använd|välj|testa|byt\s+till)\s+(?:hellre\s+|hos\s+|från\s+)*",
    r"(?:kjøp|handle|bestill|ta|bruk|velg|prøv|bytt\s+til)\s+(?:heller\s+|hos\s+|fra\s+)*",
    r"(?:kup|wybierz|spróbuj|przejdź\s+do)\s+(?:w\s+)?",
    r"(?:buy|shop|order|use|choose|try|switch\s+to|go\s+with)\s+(?:from\s+|at\s+|with\s+)?",
    r"(?:better|bedre|bättre|lepiej|lepsze)\s+(?:at|hos|på|w|with|med)?\s*",
]

# --- sentiment -------------------------------------------------------------------------------------
# Weights -3..3, one table for all five languages (shared spellings agree in sign); "*" = any ending.
_POSITIVE_3 = """
fantastisk* fantastic* amazing awesome perfekt* perfect* elsker älskar elsker* älska* love loved loving
uovertruffen* enestående* strålende* glimrende* suveræn* suverän* briljant* brilliant* fremragende*
outstanding excellent* utmerket* utmärkt* mesterlig* mästerlig* mesterverk* mästerverk* masterpiece
wspaniał* doskonał* rewelac* kocham uwielbiam świetn* genialn* znakomit* bedste beste bästa best
himmelsk* magisk* magic* underbar* vidunderlig* wonderful herlig* härlig* dejlig* superb* top
"""
_POSITIVE_2 = """
god godt gode good great bra flot* flott* fin fint fine smuk* vakker* vacker* vakre nydelig* lovely tak
takk tack thanks thank thx dziękuję dziekuje dzięki dzieki kiitos glad glade glada happy tilfreds* nøjd*
nöjd* fornøyd* satisfied zadowolon* imponer* impressive* underholdend* underhållande entertaining
morsom* rolig* sjov* sjovt kul kult kulare kulaste kulere kuleste cool fun funny sterk* stærk* stark*
strong solid solide solidt solida hjælpsom* hjelpsom* hjälpsam* helpful pomocn* venlig* vennlig* vänlig*
friendly miły miła miłe sympatisk* anbefal* rekommend* recommend* polecam hurtig* snabb* rask* fast
quick* super hurra yay brawo bravo gratul* tillykke gratulerer grattis congrat* congratul* hyggelig*
trevlig* nice pięknie piękn* ładn* dobr* dobrze spændend* spennend* spännand* exciting interessant*
interesting intressant* ciekaw* elegant* charm* sød* søt* söt* cute beautiful pretty vellykket* lyckad*
successful* sukces* vinder* vinner* winner rørend* rörand* touching gripend* gripand* fortryllend*
enjoy* nyd* nyter nytes nytelse* njut* appreciate* værdsæt* uppskattar løsn*
resolved solved fixed ordnet ordnat fikset fiksad naprawion*
"""
_NEGATIVE_3 = """
elendig* miserable* horribel* horrible* forfærdelig* forferdelig* förfärlig* fruktansvärd* terrible
awful katastrof* catastroph* disaster* skandal* scandal* hader hater hatar hate hated nienawidz*
afskyelig* avskyelig* avskyvärd* disgusting* okropn* straszn* tragiczn* beznadziejn* fatal* værst*
verst* värst* worst pathetic patetisk* ynkelig* ubrugelig* useless uselt usel* værdiløs* verdiløs*
värdelös* worthless svindel* svindl* scam* bedrag* oszust* oszuk* dødsfald* died dead død döda dödad*
"""
_NEGATIVE_2 = """
dårlig* dålig* bad poor* kedelig* kjedelig* tråkig* boring nudn* skuffet* skuffend* skuffelse* besviken*
besviket* besvikelse* disappoint* rozczarow* vred* sint sinte sintere arg arga argt arge angry zły zła
wściekł* sur sure irriterend* irriterand* irritating* irytując* frustrer* frustrat* trist triste
tristhet* tristere tristeste tristare tristast sad sadly sadness ledsen* smutn* ked kede keder kedsom*
lei meh svag* svak* weak* slap* langsom* långsam* slow* treg* forsink* försen* delay* opóźn* aflyst*
avlyst* inställd* cancel* odwołan* problem* issue* fejl* feil* fel error* błąd* błęd* klage* klag*
complain* reklamac* skandaløs* uacceptabel* uakseptabel* oacceptabel* unacceptable* nieakceptowaln*
uforskammet* frækt mangler* saknas* missing* brak brakuje* aldrig never nigdy ikke-fungerende broken*
ødelagt* ødelagd* trasig* zepsut* uhørt* hørt-intet syg syge sjuk sjuka sick sickening smerte* smärta*
ból* syk syke frygt* rädd redd scared* afraid* angst* ångest* anxiety* stress* dyr dyrt dyre expensive
overpriced drogo drogie ulykk* olyck* accident* wypad* krig* war wojn* overfald* attack* gråd* græd* cry
crying cried cries płacz* rip sorg* grief* mourn* tęsk* forvirr* förvirr* confus* kaos chaos* latterlig*
löjlig* ridiculous* śmieszn* absurd* tåbelig* dum dumme dumt dumma stupid* idiot* idiotisk* glup* kvalm*
illamående* nausea* klam klamt klamme hæslig* stygg* ugly* brzydk* ubehagelig* obehaglig* unpleasant*
overflødig* överflödig* redundant* pretentiøs* pretentiös* pretentious* forutsigbar* förutsägbar*
predictable* langtekkelig* langtrukken* utdragen* tedious* klisj* kliché* cliché*
crash* krasch* zawiesz* zacina* outage* nedbrud* driftsforstyrr* driftstörning* avbrott* awari*
"""
# Milder words, common in reviews and feedback (one is enough to tip a short text).
_POSITIVE_1 = """
behagelig* bekväm* komfortab* comfortable* lekker lekkert lekre deilig* fenomenal* phenomenal*
storslått* storslagen* storartet* velskrevet* velspilt* troverdig* trovärdig* believable* overbevis*
övertyg* convincing* fengslende* fengslend* medrivend* engasjerend* engagerend* engaging* fengend*
stilig* stilfuld* stilfull* stylish* pen pent pene fordel fordelen fordelene fördel fördelen pluss verdt
værd värd worth høydepunkt* højdepunkt* höjdpunkt* highlight* glede* glæde* glädje* joy joyful humor*
vittig* witty smart* kreativ* creative* nyskapend* nyskabend* innovativ* innovative* lovend* lovand*
promising* pålitelig* pålidelig* pålitlig* reliable* robust* effektiv* efficient* elegant nydelig
velsmakend* velsmagend* smakfull* delicious* tasty* sjarm* charmerend* charming* fordeler brukervennlig*
brugervenlig* användarvänlig* user-friendly eventyrlig*
"""
_NEGATIVE_1 = """
dessverre desværre tyvärr unfortunately niestety synd pity ulempe* ulemp* nackdel* drawback* minus
middelmådig* medioker* mediocre* medelmåttig* forglemmelig* glemmebar* forgettable* overfladisk*
overflatisk* ytlig* superficial* anstreng* ansträng* forced ujevn* ujævn* ojämn* uneven* rotet* rodet*
rörig* messy slitsom* tröttsam* tiresome* plagsom* tungvint* omstændelig* omständlig* cumbersome*
mislykk* misslyck* fail* unødvendig* unødig* unødven* onödig* unnecessary* overdrev* överdriv*
exaggerat* klein kleint pinlig* embarrass* żenując* teit teite håpløs* håbløs* hopplös* hopeless*
råtten* rotten* ødelegg* ødelæg* förstör* destroy* ruin* verre værre värre worse gorsz* tam tamt tamme
blek bleke blekt blekere bleg* pale uinspirer* uninspir* oinspirer* flau flaut begrensning* begrænsning*
begränsning* limitation* repeterend* repetitiv* repetitive* monoton* monotonous*
"""
# Review and feedback words in Bokmål, Nynorsk, Danish and Swedish (weight 2), written for Tilsvar
# from general knowledge of the languages (never from an evaluation set); the tiers above win on overlap.
_POSITIVE_REVIEW = """
severdig* lesverdig* hørverdig* sevärd* læseværdig* seværdig* velfortalt* velregissert* velprodusert*
vellaget* velgjort* velkomponert* velopplagt* veloplagt* velspelt* velskriven* velskrive gjennomført*
gjennomarbeid* treffsikker* treffend* stemningsfull* stemningsfyld* stämningsfull* forfriskend*
forfriskande uforglemmelig* oppfinnsom* opfindsom* rørand* tankevekkend* tankevekkjande tankeväckand*
velfortjent* genial* genistrek* mesterleg* framifrå* fremragande glimrande strålande kjekk* kjekt artig*
festleg* morosam* vellukka* spanande* fengjande* underhaldande* overtydande* truverdig* raffinert*
nyansert* leken lekent lekne sprudlend* sprudland* velklingend* kraftfull* praktfull* prektig* høydare
triumf* suksess* fullkommen* gnistrend* gnistrand* fornøyelig* fornøyeleg* lettlest* medrivande
fascinerend* fascinerande* fascinating* lovord soleklar velfungerend*
"""
_NEGATIVE_REVIEW = """
uinteressant* uengasjerend* likegyldig* intetsigend* pregløs* blass* banal* platt platte endimensjonal*
stereotyp* overspilt* overspelt* underveldend* sprikend* masete masende klossete klønete keitete spinkel
spinkle skuffande* kjedeleg* dårleg* keisam* langdryg* langtekkeleg* føreseieleg* uoriginal* fantasiløs*
idéfattig* ideløs* tannløs* kraftløs* livløs* sjelløs* trøttend* tungrodd* tunglest* plump* smakløs*
usmakelig* usmakeleg* ufrivillig* tåpelig* tåpeleg* pinleg* nedtur* nitrist* håplaus* ræva dritt
makkverk* fiasko*
"""
# A larger Norwegian (Bokmål and Nynorsk) review and feedback vocabulary, with the common Danish and
# Swedish forms where they differ, written for Tilsvar from general knowledge of the languages (never
# from an evaluation set), by category. Listed before the tiers above, which win on overlap.
# Quality judgements, strongly negative (3).
_NEGATIVE_NB_3 = """
gørrkjedelig* gørrkjedeleg* dritkjedelig* drittkjedelig* uutholdelig* uuthaldeleg* uutholdeleg*
ulidelig* ulideleg* uspiselig* uspiseleg* ubrukelig* ubrukeleg* ubrugelig* oanvändbar* grusom* grufull*
forkastelig* forkasteleg* jammerlig* jammerleg* elendighet* makkverk* søppelfilm* skrekkelig*
skrekkeleg*
"""
# Quality judgements in reviews and feedback (2): dull, shallow, clumsy, careless, pretentious, broken.
_NEGATIVE_NB_2 = """
skivebom* mareritt* skral skralt skrale traurig* sørgelig* sørgeleg* pinefull*
fraråder frarådes frarår frarådde
skrøpelig* skrøpeleg*
malplassert* forfeilet* forfeila ergrelse* ergerlig* ergerleg* dødpunkt* pretensiøs* belærende*
belærande* moraliserende* moraliserande* tendensiøs* generisk* formelpreget* formelaktig* overvurdert*
overvurdera* overhypet* oppskrytt* oppblåst* enfoldig* simpel simpelt simple kritikkverdig* respektløs*
respektlaus* nytteløs* nyttelaus* misfornøyd* misfornøgd* misnøye* forbanna forbannet forbanna drittlei*
fæl fælt fæle oversaltet* oversalta overkokt* overstekt* uappetittlig* uappetittleg* skitten* skitne
skittent møkkete uhygienisk* billigpreg* spenningsløs* spenningslaus* sjarmløs* sjarmlaus* lavmål*
bunnivå* bunnmål* ensformig* einsformig* enstonig* einstonig* karikert* karikatur* forslitt* forslite*
oppbrukt* utbrukt* utvannet* utvatna usammenhengende* usamanhengande* usammenhængende* osammanhängande*
oppstykket* oppstykka uforståelig* uforståeleg* meningsløs* meiningslaus* meningslös* poengløs*
poenglaus* poängslös* innholdsløs* innhaldslaus* innholdstom* innhaldstom* substansløs* humorløs*
humorlaus* humorlös* glansløs* glanslaus* saftløs* saftlaus* nerveløs* nervelaus* gnistløs* gneistlaus*
retningsløs* retningslaus* amatørmessig* amatøraktig* amatørmäss* uprofesjonell* uprofessionel*
oprofessionell* slurvete slurvet slurvete slurva sjusket* sjuskete halvhjertet* halvhjerta halvhjärtad*
halvferdig* halvgod* halvgode halvgodt overlesset* overlessa overtydelig* overtydeleg* overforklart*
overdramatiser* svulstig* pompøs* pompös* søtladen* søtlada sukkersøt* klissete klissen påtatt*
påklistret* påklistra kjedsommelig* kjedsommeleg* kjedsomhet* kjedsemd* søvndyssende* søvndyssande*
enerverende* enerverande* mangelfull* manglende manglande manglet mangla mangelen feilslått* feilslegen*
feilcastet* feilplassert* skuffer skuffar skuffa ekkel ekkelt ekle eklere ekleste motbydelig*
motbydeleg* frastøtende* frastøytande* vemmelig* vemmeleg* arrogant* selvgod* sjølvgod* selvhøytidelig*
sjølvhøgtideleg* nedlatende* nedlatande* uhøflig* uhøfleg* uhøflighet* ubehøvlet* svindyr* overpriset*
overprisa defekt* defekte haltende* haltande svikter sviktar sviktet svikta tullete tøvete vrøvl*
hjernedød* hjernedaud* uforløst* uforløyst* bortkastet* bortkasta sløsing* sløseri* tidstyv* kjip kjipt
kjipe tafatt* klumsete klumsa klosset* klønet* ustrukturert* uferdig* utålelig* utåleleg* dvask* sløv
sløvt sløve blodfattig* tynnslitt* tynnslite* gjennomskuelig* unyansert* unyansa enkelspora
enkeltsporet* endimensjonell* papirtynn* stivbeint* kunstlet* stusselig* stusseleg* puslete skranglete
vaklevoren* uinspirert* uinspirerande tamt tame tammere uoriginalt umotivert* umotivera* sjablong*
sjablongmessig* schablon* pinlige pinleg kleine stakkarslig* stakkarsleg* dårligere dårlegare verre
værre sämre irritasjon* irritert* irriterer irriterar frustrasjon* skuffelsen skuffelsar fiaskoen flopp
floppen floppet nedtur* antiklimaks* søvnig* søvnige døsig* trøttende trøyttande trøtt trøtte trøytt
langsomme langsomt monotone fargeløs* fargelaus* intetsigende uinteressante uengasjert* uengasjerande
ufokusert* kaotisk* rotut rotete forvirrende forvirrande uklar* uklart uklare overfladiske overflatiske
ytlege forutsigbare føreseielege klisjéfylt* klisjefylt* klisjéaktig* klisjéer klisjeer banalitet*
stereotypi* stereotyp* overspilling* overspel* overspiller overdriven* overdrivne overdreve
sentimentalitet* tåredryppende* tåreperse* kitsch* kitsj* smakløst smakløse unødvendige unødige
unødvendig* overflødige langtekkelige langtekkelege langdryge langdrygt langdrøy* langdryg treig treigt
treige tregt trege sendrektig* sendrektige
"""
# Milder criticism (1.5): hedged or partial judgements, lacks and weaknesses.
_NEGATIVE_NB_1 = """
stagner* rakner forstyrrer distraherer hemmer tynger overdriver blemme* pine tortur prøvelse* skjematisk*
statisk* stillestående* mager magert magre labert laber ensporet* ensporete
unngå unngås angrer angra angret
lydsvak* distansert* trangt trange
middels middelmåtig* ukritisk* ufin ufint ufine uskarp* utydelig* utydeleg* ulogisk* urealistisk*
uvedkommende uvedkomande brist bristen gjentakelse* gjentaking* dødtid transportetappe* fyllstoff*
skurrer skurrar skorter skortar glipper roter drukner druknar famler famlar vingler vinglar kveles
tynges fjollete fjollet flåsete glorete slitne slitent mosegrodd* støvete kjenslelaus* følelsesløs*
savnes saknast traust trauste bleik bleike blekner bleiknar høytravende* høytravande* pekefinger*
spekulativ* kalkulert* konvensjonell* konvensjonelle irrelevant* uvesentlig* ubetydelig* umoden* naiv*
barnslig* barnsleg* primitiv* vulgær* beklagelig* beklageleg* frekk frekt frekke hjelpeløs* hjelpelaus*
tidkrevende* tidkrevjande* rutinemessig* rutinemessige rutinepreget* galt skjør*? støyende* støyande*
bråkete bråkut hakker hakking hakkete lagg* glitch* tørr tørt tørre seig seigt seige lunken lunkent
lunkne gjentakende* gjentakande* utmattende* utmattande* effektjag* effektmakeri* plager plaget plaga
tull tullball svada sprøyt lavpunkt* bomskudd* blindspor* feilgrep* tabbe* akilleshæl* minuset minusene
minuser misliker mislikar misliker misliket mislikte ogillar diverre desverre beklageligvis
beklagelegvis uheldigvis uheldig uheldige uheldigt tvilsom* tvilsam* problematisk* svakhet* svakheit*
svakhetene svakheitene mangel manglar manglene svakt svake svakere svakare tynn tynt tynne tynnere
tynnare stiv stivt stive stivere stivare halter haltar bommer bommar bommet bomma savner saknar savnet
sakna etterlyser etterlyste sliter strever strevar strevet sprik sprikande gammeldags* utdatert*
utdaterte avdanket* trøtte kjedeligere kjedelegare tamme tannløse harmløs* harmlaus* forutsigbart
overfladisk* lettkjøpt* lettkjøpte overdreven overdrevet overdrive overdrivelse* overdrivingar påklistra
konstruert* konstruerte tungvinte tungrodde ujevnt ujevne ujamn* ustø ustødig* vaklende vaklande
uferdige uforløste skjemmer skjemmar skjemmet skjemmende skjemmande forstyrrende* forstyrrande*
distraherende* distraherande masete slitsomme anstrengte anstrengt påtrengende* påtrengjande*
selvopptatt* sjølvopptatt* negativ* negativt forsinkelse* forseinking* forsinket forseinka treghet*
tregheit* ustabil* ustabile ustabilt krasj* krasjer krasjet kræsj* bug bugs buggy feilmelding*
"""
# Positive review vocabulary (2): quality, craft, effect on the reader/viewer/listener, service.
_POSITIVE_NB_2 = """
ros rosen rosende
beundringsverdig* stjernestund* gullkorn* fullklaff*
gåsehud* latterkrampe*
utmerkt utmerkte utmerka digger digg digge diggbar* virtuos* fornøyelse* fornøying* takknemlig*
takknemleg* takksam* yndig* henrivende* henrivande* bedårende* bedårande* betagende* betagande*
toppkvalitet* leseverdig* stilsikker* sylskarp* knivskarp* skarpskodd* banebrytende* banebrytande*
grensesprengende* grensesprengjande* festlig* festleg* gøy gøyal* gøyere gøyest moro morosamt glansfull*
forbløff* suveren* suverent makeløs* makelaus* uslåelig* uslåeleg* formidabel* formidabelt formidable
ypperlig* ypperleg* utsøkt* fortreffelig* forbilledlig* forbiletleg* fabelaktig* sensasjonell*
spektakulær* forbløffende* forbløffande* helstøpt* velbalansert* avbalansert* velformulert* veldreid*
veldisponert* velutført* velvalgt* veltimet* gjennomtenkt* velgjennomtenkt* velutviklet* velutvikla
velgjort velgjord* velspela velspilte velspelte velregisserte velskrevne velskrivne velfortalte
velproduserte velkomponerte eksepsjonell* førsteklasses førsteklasse* toppklasse* verdensklasse*
verdsklasse* godbit* fryd* frydefull* nytelse* nytelsen nyter nytes koselig* koseleg* hjertevarm*
hjartevarm* innsiktsfull* innsiktsfullt kløktig* klokt kloke intelligent* underfundig* klok talentfull*
talentfullt begavet* begava dyktig* dyktige flink flinke flinkt unik unikt unike uimotståelig*
uimotståeleg* fengslande fengjande spennande* nervepirrende* nervepirrande* spenningsfylt*
spenningsfull* effektfull* virkningsfull* verknadsfull* slagkraftig* begeistret* begeistra begeistring*
begeistrer bergtatt* bergtar bergtek trollbinder* trollbundet* trollbunden* fenger fenget fenga
glitrende* glitrande glitrer gnistrer briljerer briljerte imponert imponerer imponerte suksessfull*
helstøpt uforglemmeleg* minneverdig* minneverdige velfortjente stjerneprestasjon* toppform glansrolle*
glansnummer* mesterstykke* mesterklasse* applaus* fullpott* innertier* blinkskudd* perle perler juvel
klassiker* favoritt* fryd supert
"""
# Milder praise (1.5).
_POSITIVE_NB_1 = """
beundr* applaud* hyllest hyllet lyspunkt* fineste kompromissløs* kompromisslaus* særegen* særegne
mangefasettert* flerdimensjonal*
følelsesladet* driv nerve
overdådig* fyldig* frodig* livlig* livleg* sprek sprekt spreke dynamisk* tøff tøft tøffe koser
overlegent dybde* dybden djupn* innsikt originalitet* intensitet* kjensleladd* topp talentet
undervurdert* undervurdera* heldig heldige lykkelig* lykkeleg* overveldende* overveldande* rutinert*
nyttig* nyttige praktisk* hendig* anvendelig* anvendeleg* allsidig* fleksibel* fleksible fleksibelt
stilren* luksuriøs* holdbar holdbart holdbare driftssikker* stabil stabile stabilt lydløs* lydlaus*
stillegående* mør mørt møre appetittlig* appetittleg* innbydende* innbydande* oppmerksom oppmerksomme
oppmerksomt ørevennlig*
nynnbar* stødig* stødige finurlig* finurleg* polert* belønnende* belønnande* tilfredsstillende*
tilfredsstillande* givende* fasciner* underholder underholdt forfører verdig verdige verdifull*
prisverdig* rosverdig* tempofylt* prisgunstig* gunstig* heldigvis heldigvis lyckligtvis liker likar
likte likte gillar gillade gillat styrken styrkene plusset plussene glimrer stråler skinner overgår
lykkes lyktes lukkast lykkast lyckas lyckades habil habile habilt kompetent* proff proft profesjonelt
ambisiøs* ambisiøst original originalt originale frisk friskt friske forfriskende energisk* stram stramt
stramme intens intenst intense dristig* modig* modige modigt uredd* særpreget* særprega egenartet*
autentisk* ektefølt* inderlig* inderleg* sjelfull* sjelfullt poetisk* sanselig* sanseleg* atmosfærisk*
suggestiv* hypnotisk* besnærende* besnærande* forførende* forførande* henførende* henførande* melodiøs*
iørefallende* iørefallande* catchy fengende fengjande variert* variasjonsrik* helhetlig* heilskapleg*
balansert* harmonisk* sømløs* sømlaus* smidig* ryddig* ryddige ryddigt oversiktlig* oversiktleg*
intuitiv* lettbeint* lettbent* elegante humoristisk* lun lunt vital vitalt vitale sympatiske troverdige
truverdige overbevisende overtydande lovende lovande trivelig* triveleg* fager fagert gild gildt fornøyd
fornøgd* nøgd* fornøgde hjelpsam* hjelpsame imøtekommende* imøtekommande* serviceinnstilt*
serviceinnstilte løsningsorientert* rask raske raskt kjapp kjapt kjappe effektivt effektive problemfri*
problemfritt feilfri* feilfritt positiv* positivt positive engasjert engasjerer engasjerte engasjerte
bevegende* bevegande* rørte berørende vakkert vakre vakrare vakrere vakraste vakreste fine finere finast
finest penere tiltalende* tiltalande* appetittvekkende* delikat* smakfull* velsmakende smaksrik* saftig*
morsomt morsomme morosamt artig artige lekende lystig* sprudlende* sjarmerende sjarmerande hjertelig*
hjarteleg* gledelig* gledeleg* vellykket vellykte
"""
# Words naming misfortune (death, war, illness, fear, grief) describe what a story or a message is about
# more often than they judge it ("a film about the war"), so they count a quarter (chosen on NoReC train:
# 1/2 helped NoReC train, the Swedish set and LCC Danish alike; 1/3, 1/4, 1/5, 1/8 tried later: 1/4 is
# where NoReC train gains most, 0.631 -> 0.635, before LCC Danish starts to lose).
_MISFORTUNE = """
død died dead döda dödad* dødsfald* krig* war wojn* ulykk* olyck* accident* gråd* græd* cry crying cried
cries płacz* sorg* grief* mourn* syk syke sjuk sjuka syg syge sick smerte* smärta* ból* frygt* redd rädd
scared* afraid* angst* ångest* anxiety* overfald* attack*
"""
# A second round of the Norwegian vocabulary (2026-12-06, evening), by category, written from general
# knowledge (never from an evaluation set): rubbish and tackiness, slackness and facile solutions,
# technical faults (noise, imprecision, cheap plastic), food faults, cold service, boredom; milder
# hedges (ordinary, non-committal, limited, stiff, dearer); and praise of craft and value. Listed first:
# every tier above wins on overlap.
_NEGATIVE_NB_2B = """
møl mølet skrot skrap søppel søpla søppelet juks jukset tøv tøvet grums ræl herk
amputert* lettvint* lettvinn* halvveis famlende famlande oppskriftsmessig* oppskriftsmessige sjablongaktig*
støy støyen ulyd* knirk* upresis* unøyaktig* unøyaktige fettete vassen vassent vassne utkokt* svidd
harsk* avvisende avvisande pengesluk* plastaktig* plastikkaktig* plastete halvslapp* selvfornøyd*
sjølvnøgd* krampaktig* krampeaktig* gjesp* gjespende treigere tregare kjedsom kjedsomt
trøbbel* slurv slurvet slurva hastverk* hastarbeid* oversøt* overkrydr* overprodusert* overprodusera
overarbeid* magiløs* magilaus* karakterløs* karakterlaus* uttrykksløs* uttrykkslaus* ansiktsløs*
identitetsløs* viljeløs* latskap* anemisk* dust dustete dusten stinkende stinker stinka ramsalt*
radbrekk* lettvekter lettvektar slendrian pinglete gummiaktig* hullete pappfigur* pappskikkelse*
overopphet* uinteressert* nonchalant*
"""
_NEGATIVE_NB_1B = """
oppstyltet* oppstylta sentimental sentimentale sentimentalt skrikende skrikande utilstrekkelig*
utilstrekkeleg* gjennomsnittlig* gjennomsnittleg* gretten grettent grettne bedervet* trekkfull*
deprimerende* deprimerande* plage plagen
teatralsk* kunstig kunstige kunstigt støl stølt støle uforpliktende* ordinær ordinært ordinære
begrenset begrensa begrensede avgrenset plunder knotete
knotet mas hult unnvikende* unnvikande*
forbedringspotensial* forbedringer forbetringar merkelig merkelige merkeleg merkelege snodig snodige
beskjedne tilfeldig tilfeldige spak spake spakt frynsete sutrende sutrete schizofren* hodepine
varierende varierande flat flatt forbaskede forbaska besk beskt fadt fad fade melen melent skurrende
skurrande endeløs* endelaus* svikt tungvinn* ignorert* ignorera
"""
_POSITIVE_NB_2B = """
eksemplarisk* upåklagelig* upåklageleg* ulastelig* ulasteleg* ekstraordinær* sorgløs* sorglaus*
veloverveid* velovervegd* majestetisk* velsmurt* lynrask* lynkjapp* detaljrik*
nyanserik* innholdsrik* stemningsrik* fargerik* tidløs* kledelig* kledeleg* groovy
"""
_POSITIVE_NB_1B = """
profesjonell profesjonelle dyptloddende lyrisk episk episke mektig mektige aromatisk* plettfri* ypperste
vakrest vakreste rørt trygg trygt trygge avslappende avslappande detaljert detaljerte intim intime
uanstrengt* selvsikker* sjølvsikker* grundig grundige omsorgsfull* lidenskapelig* lidenskapeleg*
inspirert inspirerte oppløftende oppløftande velarrangert* veltalende veltalande romslig* romsleg*
lettkjørt* kvikk kvikke
godkjent godkjend utstråling utstrålinga utstrålingen overkommelig* overkomeleg* presis presist presise
velutstyrt* velbygd* velholdt* poengtert* lettfattelig* lettfatteleg* responsiv* lyssterk* befriende
befriande magi magien forelsket* forelska driftssikre kurant finslipt* gyllen gylden gylne heftig*
sober sobre fortjent fortjente velstemt* samspilt* samspelt* helhjertet* helhjerta
oppriktig* oppriktige utnyttet utnytta utnytter klokere klokare klokest klokast mestrer meistrar mestret
mestra innfrir innfri innfridd innfridde innfrielse duger dugde duge oppfylt oppfylte rappkjeftet* tight
"""
SENTIMENT_WORDS: dict[str, float] = {
    **dict.fromkeys(_POSITIVE_NB_1B.split(), 1.5),
    **dict.fromkeys(_NEGATIVE_NB_1B.split(), -1.5),
    **dict.fromkeys(_POSITIVE_NB_2B.split(), 2.0),
    **dict.fromkeys(_NEGATIVE_NB_2B.split(), -2.0),
    **dict.fromkeys(_POSITIVE_NB_1.split(), 1.5),
    **dict.fromkeys(_NEGATIVE_NB_1.split(), -1.5),
    **dict.fromkeys(_POSITIVE_NB_2.split(), 2.0),
    **dict.fromkeys(_NEGATIVE_NB_2.split(), -2.0),
    **dict.fromkeys(_NEGATIVE_NB_3.split(), -3.0),
    **dict.fromkeys(_POSITIVE_REVIEW.split(), 2.0),
    **dict.fromkeys(_NEGATIVE_REVIEW.split(), -2.0),
    **dict.fromkeys(_POSITIVE_1.split(), 1.5),
    **dict.fromkeys(_NEGATIVE_1.split(), -1.5),
    **dict.fromkeys(_POSITIVE_3.split(), 3.0),
    **dict.fromkeys(_POSITIVE_2.split(), 2.0),
    **dict.fromkeys(_NEGATIVE_3.split(), -3.0),
    **dict.fromkeys(_NEGATIVE_2.split(), -2.0),
}
SENTIMENT_WORDS.update({word: SENTIMENT_WORDS[word] / 4 for word in _MISFORTUNE.split()})
# What stories are about (crime, violence, death, enemies, punishment) rather than how they are told:
# like the misfortune words, a mild negative weight of their own instead of the shipped lists' strong one.
_PLOT = """
vold volden voldelig* drap drapet drapene drapsmann* myrder myrdet myrda myrde mord mordet morder*
døde døydde dødde kriminal* fiende* straff* skyldig* fengsel* fengsl* fange fangen fanger fangene
terror* trussel truer truet trua ondskap* onde hevn* blod blodet blodig*
"""
SENTIMENT_WORDS.update(dict.fromkeys(_PLOT.split(), -0.5))
NEGATIONS = frozenset(
    [
        "ikke",
        "ikkje",
        "inkje",
        "ikk",
        "ik",
        "inte",
        "ej",
        "icke",
        "inge",
        "ingen",
        "inga",
        "ingenting",
        "intet",
        "aldrig",
        "aldri",
        "not",
        "no",
        "never",
        "n't",
        "nie",
        "nigdy",
        "ani",
        "bez",
        "hverken",
        "verken",
        "korkje",
        "ingi",
        "varken",
        "neither",
        "nor",
        "knap",
        "knapt",
        "knappt",
        "knapast",
        "neppe",
        "næppe",
    ]
)
#: "ikke bare/berre/minst" (not only, not least): the negation does not reach the next word
NOT_ONLY = frozenset(["bare", "berre", "kun", "bara", "only", "just", "minst", "blott", "endast", "tylko"])
#: "altfor lang", "alltför lång": whatever follows is too much of it
TOO = frozenset(["altfor", "alltfor", "alltför"])
#: bare "for/för" (and "vel": "vel lang") means "too" only before a scalar adjective ("for lang"; "takk
#: for god hjelp" is thanks, "vel verdt" praise)
TOO_BARE = frozenset(["for", "för", "vel"])
#: ... or after "alt/litt/lidt/vel/lite" ("alt for", "litt for": "too", whatever follows)
TOO_LEAD = frozenset(["alt", "litt", "lidt", "lite", "vel", "alldeles"])
_SCALAR = """
lang lange langt lang kort korte mye mange lite få forsiktig glatt snill pen pent stor store stort liten
lita lille små høy høye høyt høg høge høgt lav lave lavt tung tunge tungt sen sent sene seint tidlig
tidleg enkel enkle enkelt komplisert kompliserte vanskelig vanskeleg vanskelige tydelig tydeleg tydelige
opplagt åpenbar åpenbart mykje tynn tynne tynt tykk tykke tykt dyr dyrt dyre meget lidt lang lång långa
hard hardt harde søt søtt søte salt salte sterk sterkt sterke lett lette rask raskt raske fort stille
krevende krevjande ambisiøs ambisiøst ambisiøse ivrig ivrige
långt mycket många svår svårt sent hög högt låg tung tungt stora stort liten lilla
"""
SCALAR = frozenset(_SCALAR.split())
#: "(ikke) like/så god": the comparison word between a negation and the judgement
AS = frozenset(["like", "lika", "lige", "as"])
#: "alt for å …" (all in order to …) is a purpose, not "too"
INFINITIVE_MARKERS = frozenset(["å", "at", "att", "to"])
#: English words of the table that end Norwegian compounds with another meaning ("oljeboring" =
#: oil drilling, "forsvinner" = disappears)
NOT_COMPOUND_HEADS = frozenset(["boring", "vinner", "vinneren", "fine", "great", "fast", "poor", "issue"])
#: Norwegian "lite" before an adjective means "hardly" ("lite overbevisende"), not "a bit"
HARDLY = frozenset(["lite", "lítt", "föga", "lidet"])
#: "langt fra vellykket" (far from successful) turns the next word round like a negation
#: and "lite å (utsette på)" (little to criticise)
NEGATING_PAIRS = frozenset(
    [("langt", "fra"), ("langt", "frå"), ("långt", "ifrån"), ("far", "from"), ("lite", "å")]
)
#: "mindre vellykket" (less successful) turns the next word round
LESS = frozenset(["mindre", "less", "uten", "utan", "without"])
#: "ikke (noe) særlig", "ikke helt" (not quite), "ikke nok" (not enough) with no judgement after them
#: are a lukewarm verdict on their own
PARTICULARLY = frozenset(
    ["særlig", "særleg", "spesielt", "specielt", "särskilt", "synderlig", "synnerleg", "helt", "heilt", "nok"]
)
NOT_PARTICULARLY = NEGATIONS | {"noe", "noko", "något", "noget"}
#: "kunne vært bedre", "burde vore strammare": praise after a counterfactual is a wish, i.e. criticism
COUNTERFACTUAL_MODALS = frozenset(["kunne", "burde", "skulle", "kunde", "borde", "could", "should"])
#: "burde vært/hatt" (ought to have been/had) is a reproach even without praise after it
OUGHT = frozenset(["burde", "borde", "should"])
#: "hadde/ville vært bedre" is a wish too, but "det hadde vært fint om/med …" is how customers make a
#: suggestion, so praise followed by these words is left alone after "hadde/ville"
SOFT_COUNTERFACTUAL = frozenset(["hadde", "ville", "would"])
SUGGESTION_AFTER = frozenset(["om", "med", "hvis", "dersom", "viss", "å", "at", "if", "to", "with"])
COUNTERFACTUAL_BE = frozenset(["vært", "vore", "vori", "varit", "været", "been", "hatt", "haft"])
#: "kan/kunne godt" is "may well", not praise ("kunne godt hatt mer krydder")
MODAL_VERBS = frozenset(["kan", "kunne", "kunde", "må", "vil", "ville", "skal", "skulle", "burde", "bør"])
MAY_WELL = frozenset(["godt", "gjerne", "gärna"])
#: compound prefixes that strengthen the rest of the word ("kjempebra", "dritkjedelig", "superflink")
INTENSIFYING_PREFIXES = (
    "rå",
    "kjempe",
    "super",
    "knall",
    "dritt",
    "drit",
    "mega",
    "ultra",
    "sinnssykt",
    "gørr",
    "kanon",
)
#: Scandinavian main clauses put "ikke" after the finite verb ("den fungerer ikke", "overbeviser dessverre
#: ikke"): a judgement word directly followed by a negation, or by one of these and then a negation,
#: is negated too ("ikke sant" is a tag question and is left alone)
_POST_NEGATION_GAP = """
heller dessverre diverre helt heilt egentlig eigentleg riktig alltid alltid den det han hun ho jeg eg vi
de dei meg seg oss dem henne ham noen noko noe nok ennå enno likevel helt tyvärr alls aldrig man du
"""
POST_NEGATION_GAP = frozenset(_POST_NEGATION_GAP.split())
#: verbs of working and coping: neutral when affirmed ("systemet fungerer slik"), a complaint when
#: negated ("appen fungerer ikke", "virker ikke")
_FAILS_WHEN_NEGATED = """
fungerer fungerte fungere fungerar fungerade fungera funker funka funke funkar virker virket virka
verkar verka works worked work working działa svar svarer svarte svaret svara svarat levert leverer
levere levererat mottatt modtaget mottagit klarer klarte greier greide maktar makter evner
"""
FAILS_WHEN_NEGATED = frozenset(_FAILS_WHEN_NEGATED.split())
#: sentence adverbs judge the whole statement and are never negated ("overbeviser dessverre ikke")
SENTENCE_ADVERBS = frozenset(
    ["dessverre", "diverre", "desværre", "tyvärr", "heldigvis", "lyckligtvis", "beklageligvis", "uheldigvis"]
)
NOT_NEGATING_AFTER = frozenset(["sant", "minst", "bare", "berre", "bara", "sandt"])
#: two-word judgements ("faller gjennom", "trekker ned"), weighted like single words
PHRASES: dict[tuple[str, str], float] = {
    ("faller", "gjennom"): -2.0,
    ("faller", "flatt"): -2.0,
    ("trekker", "ned"): -2.0,
    ("drar", "ned"): -2.0,
    ("trekk", "ned"): -2.0,
    ("på", "tomgang"): -2.0,
    ("går", "tomgang"): -2.0,
    ("holder", "mål"): 1.5,
    ("holder", "koken"): 1.5,
    ("som", "støpt"): 2.0,
    ("gjentar", "seg"): -1.5,
    ("taper", "seg"): -1.5,
    ("mister", "grepet"): -1.5,
    ("mister", "tråden"): -1.5,
    ("går", "tapt"): -1.5,
    ("seg", "vill"): -1.5,
    ("styr", "unna"): -2.0,
    ("kaste", "bort"): -1.5,
    ("kastet", "bort"): -1.5,
    ("leverer", "varene"): 2.0,
    ("setter", "pris"): 2.0,
    ("sætter", "pris"): 2.0,
    ("på", "topp"): 1.5,
    ("til", "topps"): 1.5,
    ("mye", "bedre"): 1.5,
    ("høy", "kvalitet"): 1.5,
    ("i", "særklasse"): 2.0,
    ("treffer", "blink"): 2.0,
    ("rett", "hjem"): 1.5,
    ("pusten", "fra"): 2.0,
    ("til", "kort"): -2.0,
    ("i", "stå"): -1.5,
    ("på", "sparebluss"): -1.5,
    ("på", "autopilot"): -1.5,
    ("sklir", "ut"): -1.5,
    ("høg", "kvalitet"): 1.5,
    ("lav", "kvalitet"): -1.5,
    ("låg", "kvalitet"): -1.5,
    ("når", "ikke"): -1.5,
    ("utsette", "på"): -1.5,
    ("utsetje", "på"): -1.5,
    ("pirke", "på"): -1.5,
    ("riktig", "retning"): 1.5,
    ("ekte", "vare"): 2.0,
    ("kunne", "trengt"): -1.5,
    ("trenger", "forbedring"): -1.5,
    ("på", "treet"): -1.5,
    ("gammelt", "nytt"): -1.5,
    ("i", "overkant"): -1.5,
    ("største", "laget"): -1.5,
    ("minste", "laget"): -1.5,
    ("lengste", "laget"): -1.5,
    ("korteste", "laget"): -1.5,
    ("ikke", "engang"): -1.5,
    ("med", "forsøket"): -2.0,
    ("på", "bekostning"): -1.5,
    ("under", "pari"): -2.0,
    ("gir", "mersmak"): 2.0,
    ("for", "pengene"): 1.5,
    ("slår", "an"): 1.5,
    ("hever", "seg"): 1.5,
    ("sin", "rett"): 1.5,
    ("et", "skudd"): 2.0,
    ("skulle", "ønske"): -1.5,
    ("kunne", "ønske"): -1.5,
    ("skulle", "ønsket"): -1.5,
    ("hadde", "håpet"): -1.5,
    ("hadde", "håpa"): -1.5,
    ("hadde", "forventet"): -1.5,
    ("kjedet", "meg"): -2.0,
    ("kjeder", "meg"): -2.0,
    ("kjeda", "meg"): -2.0,
    ("holder", "ikke"): -1.5,
}
PHRASE_STARTS = frozenset(first for first, _ in PHRASES)
#: what makes a word without a weight worth a closer look (the patterns in ``sentiment._unweighted``)
PATTERN_PREVIOUS = TOO | TOO_BARE
PATTERN_TOKENS = FAILS_WHEN_NEGATED | PARTICULARLY
#: "but": the clause after it weighs more than the one before ("flott lyd, men kjedelig historie")
CONTRASTIVE = frozenset(["men", "but", "however", "dock", "likevel", "alligevel", "ändå", "ale", "jednak"])
#: words that soften the next one ("lidt rodet", "a bit messy"): its weight is halved
DOWNTONERS = frozenset(["lidt", "litt", "lite", "bit", "slightly", "somewhat", "trochę", "nieco", "smule"])
INTENSIFIERS = frozenset(
    [
        "meget",
        "mega",
        "super",
        "virkelig",
        "totalt",
        "helt",
        "rigtig",
        "utrolig",
        "utroligt",
        "vildt",
        "sindssygt",
        "mycket",
        "jätte",
        "väldigt",
        "riktigt",
        "otroligt",
        "sjukt",
        "veldig",
        "kjempe",
        "sykt",
        "heilt",
        "skikkeleg",
        "særs",
        "utruleg",
        "utroleg",
        "enormt",
        "usedvanlig",
        "usedvanleg",
        "ytterst",
        "knakende",
        "drivende",
        "forbasket",
        "svinaktig",
        "ustyrtelig",
        "vanvittig",
        "sinnsykt",
        "aldeles",
        "fullstendig",
        "komplett",
        "uhyre",
        "sygt",
        "særdeles",
        "ekstremt",
        "svært",
        "skikkelig",
        "utrolig",
        "very",
        "really",
        "so",
        "extremely",
        "totally",
        "absolutely",
        "bardzo",
        "strasznie",
        "naprawdę",
        "mega",
    ]
)
POSITIVE_EMOJI = frozenset(
    "😀😃😄😁😆😊😍🥰😘😗😙😚☺🙂🤗🤩👍👏🙌💪❤💕💖💗💓💞💘💝♥💯🎉🥳✨🌟⭐😇😻🤣😂😅😎👌🙏🌹"
)
NEGATIVE_EMOJI = frozenset("😠😡🤬😤😞😔😟😕🙁☹😣😖😫😩😢😭😱😨😰👎💔🤮🤢😒🙄😑😐💩😬🥺😿")
