package strength

import (
	"math"
	"strings"
	"sync"
)

// words lists common password words, words that show up in hand-made
// tokens and frequent English words, most common first. All entries are
// lowercase ASCII letters or digits, at least minWord characters long.
const words = `
password passw0rd secret admin letmein welcome qwerty dragon monkey master
login default example changeme token warden hello shadow sunshine princess
football baseball iloveyou trustno1 starwars superman batman access test
testing root toor server gateway openclaw agent correct horse battery
staple pass passwd passcode passphrase passkey pass123 admin123
administrator superuser supersecret topsecret mysecret mytoken mypassword
yoursecret changeit change replaceme replace fixme todo sample dummy
placeholder template insecure unsafe temp temporary nothing something
anything everything whatever forever freedom michael jennifer jordan
hunter ranger buster soccer hockey basketball harley thomas robert daniel
andrew joshua matthew jessica ashley amanda charlie nicole summer winter
spring autumn flower cookie cheese pepper ginger maggie tigger hannah
bailey killer mustang ferrari porsche corvette mercedes yankees cowboys
eagles lakers chelsea arsenal liverpool barcelona madrid london paris
berlin dallas austin boston chicago phoenix diamond silver golden orange
purple yellow black white green blue brown computer internet windows linux
ubuntu debian apple banana cherry chocolate coffee pizza samsung google
yahoo facebook twitter github gitlab docker kubernetes amazon microsoft
oracle mysql postgres redis nginx apache jenkins ansible vagrant backup
config system service control manager database private public guest user
username operator support security secure protect safety welcome1 qazwsx
asdfgh zxcvbn lovely loveme love iloveu mylove angel angels baby babygirl
sweet sweetie honey money bearer auth oauth session cipher crypto encrypt
decrypt hash salt nonce random entropy signing signature certificate cert
vault keystore keychain pincode masterkey sudo shell bash terminal console
local localhost domain network proxy router switch firewall client daemon
cluster node worker deploy production prod staging stage develop
development release debug demo hidden unknown nobody someone everyone
blank empty none null undefined false true zero alpha beta gamma delta
omega sigma lambda kappa theta epsilon zeta three four five seven eight
nine eleven twelve twenty hundred thousand million monday tuesday
wednesday thursday friday saturday sunday january february march april
june july august september october november december tiger lion bear wolf
eagle falcon shark snake puppy kitty kitten bunny rabbit turtle panda
donkey dolphin whale spider unicorn david john paul christian mary sarah
emily michelle anna maria sophia olivia emma isabella charlotte about
after again against also always another because before being below between
both bring could every first found from great have here house into just
know large last like little long look made make many more most much must
name never next night only other over people place right said same should
small some sound still such take tell than that their them then there
these they thing think this through time under very want water well were
what when where which while will with word work world would write year
your open close start stop begin enter exit home office school market
power magic mystery wizard knight castle kingdom empire galaxy planet
rocket space star moon earth fire wind storm thunder lightning ocean river
mountain forest island beach sunset rainbow heaven hell devil demon ghost
zombie ninja pirate viking samurai warrior soldier police doctor nurse
teacher student player gamer hacker coder developer engineer matrix robin
joker spiderman ironman thor avengers marvel pokemon pikachu mario zelda
minecraft snoopy mickey password1 abc123 trustme whatsup hellothere
helloworld goodbye thankyou please sorry friend friends family mother
father sister brother daughter husband wife girl girlfriend boyfriend
lover happy smile funny crazy cool awesome amazing super ultra mega hyper
turbo jasmine united manchester england america
`

// dict is a trie over the word list.
type dict struct {
	edges map[uint32]int32 // node<<8 | byte -> child node
	word  []bool           // node ends a word
	count int              // number of words
	bits  float64          // bits of one word before capitalisation and l33t
}

func (d *dict) child(node int32, c byte) (int32, bool) {
	n, ok := d.edges[uint32(node)<<8|uint32(c)]
	return n, ok
}

// dictionary builds the trie once; it is only read afterwards.
var dictionary = sync.OnceValue(func() *dict {
	d := &dict{edges: map[uint32]int32{}, word: []bool{false}}
	seen := map[string]bool{}
	for _, w := range strings.Fields(words) {
		if seen[w] {
			continue
		}
		seen[w] = true
		d.count++
		node := int32(0)
		for i := 0; i < len(w); i++ {
			next, ok := d.child(node, w[i])
			if !ok {
				next = int32(len(d.word))
				d.word = append(d.word, false)
				d.edges[uint32(node)<<8|uint32(w[i])] = next
			}
			node = next
		}
		d.word[node] = true
	}
	// One of count words, plus one bit for the choice of word list
	// (common password or ordinary word): about 10 bits.
	d.bits = math.Log2(float64(d.count)) + 1
	return d
})
