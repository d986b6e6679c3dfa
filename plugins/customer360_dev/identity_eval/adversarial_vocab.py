"""Name, place and contact vocabularies of the adversarial generator (its own lists, not the datagen's)."""

from __future__ import annotations

# Western given names with the short forms people write on an order or tell a service agent.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Robert": ("Bob", "Rob", "Bobby"),
    "William": ("Bill", "Will"),
    "Elizabeth": ("Liz", "Beth", "Betty"),
    "Margaret": ("Maggie", "Peggy"),
    "Katherine": ("Kate", "Katie"),
    "Richard": ("Rick", "Dick"),
    "James": ("Jim", "Jimmy"),
    "Johannes": ("Hans", "Jan"),
    "Alexander": ("Alex", "Sander"),
    "Jennifer": ("Jen", "Jenny"),
    "Michael": ("Mike",),
    "Thomas": ("Tom",),
    "Christopher": ("Chris",),
    "Anthony": ("Tony",),
    "Patricia": ("Pat", "Trish"),
    "Wilhelmina": ("Willy", "Mien"),
    "Cornelis": ("Kees",),
    "Jacobus": ("Koos", "Jaap"),
    "Hendrik": ("Henk",),
    "Nicolaas": ("Klaas", "Nick"),
    "Frederik": ("Fred", "Freek"),
    "Maximilian": ("Max",),
    "Catharina": ("Karin", "Toos"),
    "Benjamin": ("Ben",),
}
PLAIN_GIVEN = (
    "Sophie", "Emma", "Lotte", "Pieter", "Lukas", "Noah", "Julia", "Anna", "Marie", "Claire",
    "Hugo", "Louis", "Camille", "Mila", "Finn", "Sem", "Daan", "Tess", "Fleur", "Greta",
)  # fmt: skip
WESTERN_GIVEN: tuple[str, ...] = tuple(NICKNAMES) + PLAIN_GIVEN
WESTERN_FAMILY = (
    "de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "de Boer",
    "Bos", "Vos", "Peters", "Hendriks", "Dekker", "Müller", "Schmidt", "Schneider", "Fischer", "Weber",
    "Wagner", "Becker", "Hoffmann", "Peeters", "Maes", "Claes", "Goossens", "Smith", "Jones", "Taylor",
    "Brown", "Wilson", "Evans", "Martin", "Bernard", "Dubois", "Durand", "Lefebvre", "Moreau", "Laurent",
    "Lambert",
)  # fmt: skip

# Chinese names: (characters, Hanyu Pinyin without tones).
CHINESE_FAMILY = (
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
    ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"),
    ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"), ("何", "He"), ("林", "Lin"),
    ("罗", "Luo"), ("高", "Gao"),
)  # fmt: skip
CHINESE_GIVEN = (
    ("伟", "Wei"), ("芳", "Fang"), ("秀英", "Xiuying"), ("敏", "Min"), ("静", "Jing"), ("丽", "Li"),
    ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("勇", "Yong"), ("艳", "Yan"),
    ("杰", "Jie"), ("娟", "Juan"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"), ("秀兰", "Xiulan"),
    ("霞", "Xia"), ("平", "Ping"), ("刚", "Gang"), ("桂英", "Guiying"), ("小明", "Xiaoming"),
    ("建华", "Jianhua"), ("志强", "Zhiqiang"), ("海燕", "Haiyan"), ("晓东", "Xiaodong"), ("丽娟", "Lijuan"),
)  # fmt: skip

COUNTRIES = ("NL", "DE", "BE", "GB", "FR", "CN")
COUNTRY_CODES = {"NL": "31", "DE": "49", "BE": "32", "GB": "44", "FR": "33", "CN": "86"}
CITIES = {
    "NL": ("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Groningen", "Tilburg", "Breda", "Haarlem"),
    "DE": ("Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Leipzig", "Dresden"),
    "BE": ("Antwerpen", "Gent", "Brussel", "Brugge", "Leuven", "Liège"),
    "GB": ("London", "Manchester", "Leeds", "Bristol", "Glasgow", "Liverpool"),
    "FR": ("Paris", "Lyon", "Lille", "Nantes", "Bordeaux", "Toulouse"),
    "CN": ("Beijing", "Shanghai", "Guangzhou", "Shenzhen", "Hangzhou", "Chengdu"),
}
STREETS = {
    "NL": ("Kerkstraat", "Dorpsstraat", "Stationsweg", "Molenweg", "Lindenlaan", "Julianastraat"),
    "DE": ("Hauptstraße", "Bahnhofstraße", "Gartenstraße", "Schulstraße", "Lindenallee"),
    "BE": ("Kerkstraat", "Stationsstraat", "Rue de la Gare", "Veldstraat", "Nieuwstraat"),
    "GB": ("High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane"),
    "FR": ("Rue de la Paix", "Avenue Victor Hugo", "Rue Pasteur", "Rue des Lilas", "Boulevard Voltaire"),
    "CN": ("Nanjing Road", "Huaihai Road", "Renmin Road", "Zhongshan Road", "Jiefang Road"),
}
# National significant numbers: (leading digits, random digits after them). Mobiles per person, fixed
# lines for households.
MOBILE_PREFIX = {
    "NL": ("62", 7), "DE": ("151", 8), "BE": ("47", 7), "GB": ("770", 7), "FR": ("61", 7), "CN": ("138", 8),
}  # fmt: skip
LANDLINE_PREFIX = {
    "NL": ("20", 7), "DE": ("30", 8), "BE": ("22", 6), "GB": ("207", 7), "FR": ("1", 8), "CN": ("10", 8),
}  # fmt: skip
# Mobiles in China are dialled without a trunk 0; every other number here with one.
NO_TRUNK_PREFIX = ("CN",)

PERSONAL_DOMAINS = {
    "NL": ("gmail.com", "ziggo.nl", "kpnmail.nl", "outlook.com"),
    "DE": ("gmail.com", "web.de", "gmx.de"),
    "BE": ("gmail.com", "telenet.be", "skynet.be"),
    "GB": ("gmail.com", "btinternet.com", "outlook.com"),
    "FR": ("gmail.com", "orange.fr", "free.fr"),
    "CN": ("qq.com", "163.com", "gmail.com"),
}
ROLE_MAILBOXES = ("info", "sales", "contact", "orders", "admin")
COMPANY_WORDS = ("bouw", "design", "consult", "trading", "logistics", "studio", "partners")
