"""The benchmark's mail: N realistic support mails, the same for a given
seed on every machine.

Customer mail (2-10 KB with headers) is written from ../shared/data:
- Italian: the texts of italian-dev/*.eml;
- English: bitext utterances (several of one intent make a mail) and
  it-service helpdesk tickets; the ham of spamassassin-testdata only as
  quoted or forwarded text;
- German, French, Spanish, Portuguese: the short requests below, written
  for this benchmark;
with greetings, signatures, legal disclaimers, realistic MTA headers
(Received, DKIM-Signature, Authentication-Results), several transfer
encodings and HTML alternatives, and for about a third a quoted thread
(an internal discussion at the customer's company, never a reply to us).
tobi-dev is never read (measurement-only data set, issue 4).

Machine mail (about a tenth) is raw bounces, auto-replies and feedback
reports from mail/sisimai-set-of-emails, addressed to support@example.com,
each with a null or system envelope sender or Auto-Submitted: no one may
answer it.

Each message is a Spec; render(spec, tag) gives the bytes for one run: the
sender address and Message-ID carry the tag, so every run has its own
senders and no reply state carries over between runs, while subject and
text stay the same (the expected folders and keywords are computed once).
"""

import email
import email.charset
import email.header
import email.policy
import email.utils
import glob
import hashlib
import html
import html.parser
import json
import math
import os
import random
import re
from dataclasses import dataclass

SUPPORT = "support@example.com"
ADDRESSES = ("support@example.com", "help@example.com",
             "assistenza@example.com")
MAX_SIZE = 10240
MIN_SIZE = 2000
MACHINE_SHARE = 0.10
THREAD_SHARE = 0.35
LANG_SHARE = (("it", 0.35), ("en-bitext", 0.28), ("en-itservice", 0.12),
              ("de", 0.07), ("fr", 0.06), ("es", 0.06), ("pt", 0.06))
BASE_DATE = 1790000000          # a fixed Date for reproducible headers


# ---- hand-written material (for this benchmark; free to use) ----------------

REQUESTS = {
    "de": [
        ("Rechnung doppelt abgebucht",
         "ich habe festgestellt, dass die Rechnung Nr. {n} für März zweimal "
         "von meinem Konto abgebucht wurde. Bitte erstatten Sie den doppelten "
         "Betrag und schicken Sie mir eine korrigierte Rechnung."),
        ("Kein Internet seit heute Morgen",
         "seit heute Morgen funktioniert unser Internetanschluss nicht mehr, "
         "die DSL-Lampe am Router blinkt rot. Ein Neustart hat nichts "
         "gebracht. Wir sind ein kleines Büro und brauchen die Verbindung "
         "dringend."),
        ("Angebot für 25 Lizenzen",
         "wir möchten Ihre Software in unserem Team einführen und bitten um "
         "ein Angebot für 25 Lizenzen mit jährlicher Abrechnung. Gibt es "
         "einen Rabatt für gemeinnützige Organisationen?"),
        ("Passwort zurücksetzen funktioniert nicht",
         "ich kann mich nicht mehr in mein Kundenkonto einloggen. Die E-Mail "
         "zum Zurücksetzen des Passworts kommt nie an, auch nicht im "
         "Spam-Ordner."),
        ("Lieferung noch nicht angekommen",
         "meine Bestellung {n} vom letzten Montag ist immer noch nicht "
         "angekommen. Laut Sendungsverfolgung liegt das Paket seit vier "
         "Tagen im Verteilzentrum. Können Sie bitte nachfragen?"),
        ("Termin für die Installation verschieben",
         "der Techniker sollte am Donnerstag zwischen 8 und 12 Uhr kommen, "
         "leider bin ich an diesem Tag nicht zu Hause. Wäre auch der "
         "Freitagnachmittag möglich?"),
        ("Beschwerde über Ihre Hotline",
         "ich habe nun dreimal bei Ihrer Hotline angerufen und jedes Mal "
         "wurde mir etwas anderes erzählt. Ich erwarte eine schriftliche "
         "Antwort, wie es jetzt weitergeht."),
        ("Auskunft nach DSGVO",
         "bitte teilen Sie mir gemäß Art. 15 DSGVO mit, welche Daten Sie über "
         "mich gespeichert haben, und löschen Sie anschließend meine "
         "Telefonnummer aus Ihren Marketinglisten."),
    ],
    "fr": [
        ("Facture erronée",
         "la facture n° {n} du mois dernier contient deux fois les frais de "
         "mise en service. Pourriez-vous m'envoyer une facture corrigée et "
         "rembourser la différence ?"),
        ("Boutique en ligne inaccessible",
         "depuis ce matin notre boutique en ligne affiche une erreur 500 à "
         "chaque commande. Nos clients ne peuvent plus payer. Merci "
         "d'intervenir au plus vite, c'est urgent."),
        ("Demande de devis",
         "nous souhaitons équiper nos trois agences et aimerions recevoir un "
         "devis pour l'offre Entreprise, avec l'installation et la formation "
         "du personnel."),
        ("Impossible de me connecter",
         "je n'arrive plus à me connecter à mon espace client depuis la mise "
         "à jour de l'application. Le message indique que mon mot de passe "
         "est incorrect alors que je ne l'ai pas changé."),
        ("Commande non reçue",
         "j'ai passé la commande {n} il y a dix jours et je n'ai toujours "
         "rien reçu. Le suivi indique que le colis a été livré, mais "
         "personne n'a sonné."),
        ("Changement d'adresse",
         "nous déménageons le mois prochain. Pouvez-vous mettre à jour "
         "l'adresse de facturation et de livraison de notre compte à partir "
         "du 1er ?"),
        ("Rendez-vous pour l'entretien",
         "je voudrais prendre rendez-vous pour l'entretien annuel de la "
         "chaudière, de préférence un mardi ou un jeudi matin."),
        ("Question sur vos horaires",
         "pourriez-vous me dire si votre service client est ouvert le samedi "
         "et s'il existe un numéro pour les urgences le week-end ?"),
    ],
    "es": [
        ("Cargo duplicado en la tarjeta",
         "he visto que me han cobrado dos veces la cuota de este mes en la "
         "tarjeta de crédito. Les ruego que me devuelvan el importe duplicado "
         "lo antes posible."),
        ("La aplicación se cierra sola",
         "desde la última actualización la aplicación se cierra cada vez que "
         "intento abrir el historial de pedidos. Uso un Android 13. ¿Saben si "
         "es un problema conocido?"),
        ("Presupuesto para 40 usuarios",
         "somos una empresa de logística y nos interesa su plataforma. "
         "¿Podrían enviarnos un presupuesto para 40 usuarios y decirnos si "
         "ofrecen una prueba gratuita?"),
        ("Baja del servicio",
         "quiero dar de baja mi contrato a final de mes. Por favor, "
         "indíquenme los pasos a seguir y si hay alguna penalización."),
        ("Pedido incompleto",
         "he recibido el pedido {n} pero falta uno de los tres artículos, "
         "aunque el albarán sí lo incluye. ¿Cómo podemos solucionarlo?"),
        ("Sin conexión en toda la zona",
         "desde anoche no hay conexión en todo nuestro edificio y varios "
         "vecinos tienen el mismo problema. ¿Hay una avería en la zona? "
         "¿Cuándo se resolverá?"),
        ("Cambio de cita",
         "tengo cita el jueves a las 10:00 pero me ha surgido un imprevisto. "
         "¿Sería posible cambiarla a la semana siguiente?"),
        ("Información sobre tarifas",
         "me gustaría saber qué diferencias hay entre la tarifa Básica y la "
         "Profesional y si puedo cambiar de una a otra en cualquier momento."),
    ],
    "pt": [
        ("Fatura com valor errado",
         "a fatura {n} veio com um valor muito acima do habitual e não fiz "
         "nenhuma alteração no plano. Podem verificar e enviar uma fatura "
         "corrigida?"),
        ("Sem acesso à conta",
         "não consigo aceder à minha conta desde ontem. Aparece a mensagem de "
         "que o utilizador está bloqueado. Já tentei recuperar a "
         "palavra-passe sem sucesso."),
        ("Pedido de orçamento",
         "gostaríamos de receber um orçamento para a instalação do sistema em "
         "duas lojas, incluindo a manutenção anual."),
        ("Encomenda atrasada",
         "a minha encomenda {n} devia ter chegado na sexta-feira e ainda não "
         "recebi nada. O número de seguimento não mostra atualizações há "
         "cinco dias."),
        ("Reclamação",
         "é a terceira vez que o técnico falta à visita marcada sem avisar. "
         "Estou muito insatisfeito e peço que um responsável me contacte."),
        ("Falha no servidor de e-mail",
         "desde as 9h que o nosso servidor de e-mail não envia mensagens, dá "
         "erro de autenticação SMTP. Está a afetar toda a empresa, é "
         "urgente."),
        ("Marcação de consulta",
         "queria marcar uma consulta para a próxima semana, de preferência ao "
         "fim da tarde. Que horários têm disponíveis?"),
        ("Dúvida sobre o contrato",
         "gostaria de saber qual é o prazo de fidelização do meu contrato e "
         "se posso mudar de plano sem custos."),
    ],
}

GREETINGS = {
    "en": ["Hello,", "Hi team,", "Dear Support,", "Good morning,", "Hi,"],
    "it": ["Buongiorno,", "Salve,", "Gentile assistenza,", "Buonasera,"],
    "de": ["Guten Tag,", "Hallo zusammen,",
           "Sehr geehrte Damen und Herren,"],
    "fr": ["Bonjour,", "Madame, Monsieur,", "Bonjour à toute l'équipe,"],
    "es": ["Hola,", "Buenos días,", "Estimados señores:"],
    "pt": ["Olá,", "Bom dia,", "Exmos. Senhores,"],
}
CLOSINGS = {
    "en": ["Thanks,", "Best regards,", "Kind regards,", "Thank you,"],
    "it": ["Grazie,", "Cordiali saluti,", "Saluti,", "Distinti saluti,"],
    "de": ["Viele Grüße", "Mit freundlichen Grüßen", "Beste Grüße"],
    "fr": ["Cordialement,", "Merci d'avance,", "Bien à vous,"],
    "es": ["Saludos,", "Un saludo,", "Gracias de antemano,"],
    "pt": ["Obrigado,", "Atenciosamente,", "Cumprimentos,"],
}
DETAILS = {
    "en": ["Customer number: {c}\nContract: {k}\nPhone: {p}",
           "For reference, my account is registered with this e-mail "
           "address and I am available on {p} during office hours.",
           "Please let me know if you need any further information."],
    "it": ["Codice cliente: {c}\nContratto: {k}\nTelefono: {p}",
           "Resto in attesa di un vostro cortese riscontro, sono "
           "raggiungibile al {p} in orario d'ufficio."],
    "de": ["Kundennummer: {c}\nVertrag: {k}\nTelefon: {p}",
           "Für Rückfragen bin ich tagsüber unter {p} erreichbar."],
    "fr": ["Numéro client : {c}\nContrat : {k}\nTéléphone : {p}",
           "Je reste à votre disposition au {p} pour tout complément "
           "d'information."],
    "es": ["Número de cliente: {c}\nContrato: {k}\nTeléfono: {p}",
           "Quedo a la espera de su respuesta; pueden llamarme al {p}."],
    "pt": ["Número de cliente: {c}\nContrato: {k}\nTelefone: {p}",
           "Fico a aguardar o vosso contacto, estou disponível no {p}."],
}
DISCLAIMERS = {
    "en": "CONFIDENTIALITY NOTICE: This e-mail and any attachments are "
          "confidential and may be legally privileged. They are intended "
          "solely for the addressee. If you have received this message by "
          "mistake, please notify the sender and delete it from your system. "
          "Any unauthorised use, copying or disclosure is prohibited.",
    "it": "Le informazioni contenute in questo messaggio sono riservate e "
          "destinate esclusivamente al destinatario indicato. Se avete "
          "ricevuto questo messaggio per sbaglio vi preghiamo di informare il "
          "mittente e di cancellarlo. Ogni utilizzo non autorizzato è "
          "vietato ai sensi del Regolamento UE 2016/679.",
    "de": "Diese E-Mail enthält vertrauliche Informationen und ist "
          "ausschließlich für den Empfänger bestimmt. Wenn Sie nicht der "
          "richtige Adressat sind oder diese E-Mail irrtümlich erhalten "
          "haben, informieren Sie bitte sofort den Absender und löschen Sie "
          "diese E-Mail.",
    "fr": "Ce message et ses pièces jointes sont confidentiels et destinés "
          "exclusivement à leur destinataire. Si vous l'avez reçu par "
          "méprise, merci d'en avertir l'expéditeur et de le supprimer.",
    "es": "Este mensaje y sus anexos son confidenciales y están dirigidos "
          "exclusivamente a su destinatario. Si lo ha recibido por "
          "equivocación, le rogamos que lo comunique al remitente y lo "
          "elimine.",
    "pt": "Esta mensagem e os seus anexos são confidenciais e destinam-se "
          "exclusivamente ao destinatário. Se a recebeu por engano, por favor "
          "informe o remetente e apague-a.",
}
QUOTE_INTRO = {
    "en": "On {d}, {n} <{a}> wrote:",
    "it": "Il giorno {d} {n} <{a}> ha scritto:",
    "de": "Am {d} schrieb {n} <{a}>:",
    "fr": "Le {d}, {n} <{a}> a écrit :",
    "es": "El {d}, {n} <{a}> escribió:",
    "pt": "Em {d}, {n} <{a}> escreveu:",
}
FORWARD_INTRO = {
    "en": "---------- Forwarded message ----------",
    "it": "-----Messaggio originale-----",
    "de": "-------- Weitergeleitete Nachricht --------",
    "fr": "-------- Message transféré --------",
    "es": "---------- Mensaje reenviado ----------",
    "pt": "---------- Mensagem encaminhada ----------",
}
REPLY_PREFIX = {"en": "Re: ", "it": "R: ", "de": "AW: ", "fr": "RE: ",
                "es": "RE: ", "pt": "RE: "}
NAMES = {
    "en": (["James", "Emma", "Oliver", "Sophie", "Daniel", "Grace", "Ryan",
            "Chloe", "Michael", "Laura", "David", "Hannah"],
           ["Smith", "Walker", "Turner", "Hughes", "Bennett", "Collins",
            "Morgan", "Price", "Reed", "Foster", "Hayes", "Murray"]),
    "it": (["Giulia", "Marco", "Francesca", "Luca", "Chiara", "Andrea",
            "Elena", "Matteo", "Sara", "Davide", "Paola", "Stefano"],
           ["Rossi", "Bianchi", "Ferrari", "Esposito", "Romano", "Colombo",
            "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti"]),
    "de": (["Anna", "Lukas", "Katrin", "Jonas", "Miriam", "Tobias", "Sabine",
            "Felix", "Julia", "Stefan"],
           ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner",
            "Becker", "Hoffmann", "Koch", "Richter"]),
    "fr": (["Camille", "Julien", "Claire", "Thomas", "Élodie", "Nicolas",
            "Manon", "Antoine", "Léa", "Mathieu"],
           ["Martin", "Bernard", "Dubois", "Durand", "Lefèvre", "Moreau",
            "Laurent", "Girard", "Roux", "Fontaine"]),
    "es": (["Lucía", "Javier", "Marta", "Carlos", "Elena", "Pablo", "Carmen",
            "Sergio", "Laura", "Diego"],
           ["García", "Fernández", "López", "Martínez", "Sánchez", "Pérez",
            "Gómez", "Ruiz", "Díaz", "Moreno"]),
    "pt": (["Ana", "João", "Mariana", "Pedro", "Inês", "Tiago", "Beatriz",
            "Rui", "Sofia", "Miguel"],
           ["Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa",
            "Rodrigues", "Martins", "Sousa", "Fernandes"]),
}
COMPANIES = {
    "en": ["Harbor Logistics", "Bluefield Dental", "Northgate Books",
           "Kestrel Consulting", "Maple Street Bakery", "Ironbridge Legal"],
    "it": ["Studio Tecnico Ferri", "Autofficina Bassi", "Farmacia Centrale",
           "Ottica Moretti", "Bianchi Impianti", "Agenzia Viaggi Sole"],
    "de": ["Bäckerei Huber", "Praxis Dr. Lang", "Weber Metallbau",
           "Reisebüro Sonnenschein", "Kanzlei Brandt"],
    "fr": ["Boulangerie Lemoine", "Cabinet Girard", "Garage des Alpes",
           "Librairie du Port", "Agence Horizon"],
    "es": ["Talleres Ruiz", "Clínica Sonrisa", "Librería Central",
           "Transportes Díaz", "Gestoría López"],
    "pt": ["Padaria Lisboa", "Clínica Sorriso", "Oficina Martins",
           "Livraria do Porto", "Transportes Costa"],
}
TLD = {"en": "co.uk", "it": "it", "de": "de", "fr": "fr", "es": "es",
       "pt": "pt"}
CHARSET = {"en": "us-ascii", "it": "iso-8859-1", "de": "iso-8859-1",
           "fr": "iso-8859-1", "es": "iso-8859-1", "pt": "iso-8859-1"}
MAILERS = ["Microsoft Outlook 16.0", "Mozilla Thunderbird 115.6.0",
           "Apple Mail (2.3731.700.6)", "Roundcube Webmail/1.6.5",
           "K-9 Mail for Android", None, None]


@dataclass
class Spec:
    index: int
    kind: str           # "customer" or "machine"
    lang: str
    source: str         # where the text came from
    thread: bool = False
    # customer mail: rendered around the sender and Message-ID
    name: str = ""
    local: str = ""
    domain: str = ""
    to: str = SUPPORT
    pre_headers: bytes = b""    # Received, DKIM-Signature, ... (before From)
    post_headers: bytes = b""   # To, Subject, Date, ..., MIME, blank, body
    # machine mail: the raw message and its envelope sender
    raw: bytes = b""
    env_from: str = ""

    @property
    def eligible(self):
        """A customer's first mail in a new conversation: to be
        acknowledged."""
        return self.kind == "customer"


def render(spec, tag):
    """(bytes, envelope sender, Message-ID) of spec for the run `tag`."""
    h = hashlib.sha1(("%s/%d" % (tag, spec.index)).encode()).hexdigest()[:12]
    if spec.kind == "machine":
        msgid = "<%s.%05d.%s@bench.example.net>" % (tag, spec.index, h)
        return _retag_machine(spec.raw, msgid), spec.env_from, msgid
    sender = "%s.%s@%s" % (spec.local, tag, spec.domain)
    msgid = "<%s.%05d.%s@%s>" % (tag.upper(), spec.index, h, spec.domain)
    head = b"From: %s\r\nMessage-ID: %s\r\n" % (
        _addr_header(spec.name, sender), msgid.encode())
    return spec.pre_headers + head + spec.post_headers, sender, msgid


def _retag_machine(raw, msgid):
    """raw with its top-level Message-ID replaced (or added) and its To:
    set to the support address, as if a reply of ours had bounced."""
    end = re.search(rb"\r\n\r\n", raw)
    head, body = (raw[:end.start() + 2], raw[end.start() + 2:]) if end \
        else (raw + b"\r\n", b"\r\n")
    fields = re.split(rb"\r\n(?![ \t])", head.rstrip(b"\r\n"))
    out = [f for f in fields
           if not re.match(rb"(?i)(message-id|to)[ \t]*:", f)]
    out.append(b"To: " + SUPPORT.encode())
    out.append(b"Message-ID: " + msgid.encode())
    return b"\r\n".join(out) + b"\r\n" + body


def _addr_header(name, addr):
    return email.utils.formataddr(
        (name, addr), charset="utf-8").encode("ascii")


# ---- sources ----------------------------------------------------------------

class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.out = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "p", "div", "tr", "li"):
            self.out.append("\n")

    def handle_data(self, data):
        self.out.append(data)


def _plain(msg):
    """The readable text of a message (text/plain, else HTML as text)."""
    part = msg.get_body(("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, ValueError, AssertionError):
        return ""
    if part.get_content_subtype() == "html":
        p = _Text()
        p.feed(text)
        text = "".join(p.out)
    text = re.sub(r"[ \t]+\n", "\n", text.replace("\r\n", "\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


class Sources:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.italian = []           # (subject, text)
        path = os.path.join(data_dir, "italian-dev")
        for fn in sorted(glob.glob(os.path.join(path, "*.eml"))):
            with open(fn, "rb") as f:
                m = email.message_from_binary_file(f,
                                                   policy=email.policy.default)
            text = _plain(m)
            if text:
                self.italian.append((fn, str(m["Subject"] or ""), text))
        self.bitext = {}            # intent -> [utterance]
        for row in _jsonl(os.path.join(data_dir, "tickets", "bitext.jsonl")):
            self.bitext.setdefault(row["label"], []).append(row["body"])
        self.itservice = [r["body"] for r in _jsonl(
            os.path.join(data_dir, "tickets", "it-service.jsonl"))
            if 120 <= len(r["body"]) <= 3000]
        self.ham = []               # paragraphs of ham text
        sa = os.path.join(data_dir, "mail", "spamassassin-testdata")
        for row in _jsonl(os.path.join(sa, "index.jsonl")):
            if row.get("category") != "ham":
                continue
            with open(os.path.join(sa, row["file"]), "rb") as f:
                m = email.message_from_binary_file(f,
                                                   policy=email.policy.default)
            try:
                text = _plain(m)
            except Exception:
                continue
            if len(text) < 100 or "\ufffd" in text:
                continue
            for para in re.split(r"\n\s*\n", text):
                if 60 <= len(para) <= 1500 and \
                        not re.match(r"(?i)[\w-]+: ", para):
                    self.ham.append(para)
        self.machine = []           # (relative path, raw, envelope sender)
        sis = os.path.join(data_dir, "mail", "sisimai-set-of-emails")
        for row in _jsonl(os.path.join(sis, "index.jsonl")):
            if row.get("category") not in ("bounce", "auto-reply",
                                           "feedback-report", "dsn-delivered",
                                           "auto-generated-notice"):
                continue
            if not 500 <= row.get("size", 0) <= MAX_SIZE - 200:
                continue
            with open(os.path.join(sis, row["file"]), "rb") as f:
                raw = re.sub(rb"\r?\n", b"\r\n", f.read())
            env = "" if row.get("null_sender") else (
                _bare(row.get("return_path") or "") or
                _bare(row.get("from") or ""))
            if row["category"] in ("bounce", "dsn-delivered") and \
                    not _system_sender(env):
                env = ""        # RFC 5321 4.5.5: notifications use <>
            # Keep what any RFC 3834 responder must recognise: a null or
            # system sender or Auto-Submitted. Pigeonhole's vacation does
            # answer e.g. an ARF report from an ordinary address.
            auto = [a for a in row.get("auto_submitted") or []
                    if a.strip().lower() != "no"]
            if env and not _system_sender(env) and not auto:
                continue
            self.machine.append(("sisimai/" + row["file"], raw, env))
        missing = [n for n, v in (("italian-dev", self.italian),
                                  ("bitext", self.bitext),
                                  ("it-service", self.itservice),
                                  ("spamassassin ham", self.ham),
                                  ("sisimai", self.machine)) if not v]
        if missing:
            raise RuntimeError("benchmark data missing in %s: %s"
                               % (data_dir, ", ".join(missing)))


def _jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def _system_sender(addr):
    """A sender no autoresponder answers (RFC 3834 5.1; the local parts
    Pigeonhole's vacation checks)."""
    local = addr.split("@")[0].lower()
    return (local in ("mailer-daemon", "listserv", "majordomo") or
            "-request" in local or local.startswith("owner-"))


def _bare(addr):
    a = email.utils.parseaddr(addr)[1].strip()
    return a if re.match(r"^[^@\s<>()]+@[\w.-]+$", a) else ""


# ---- composition ------------------------------------------------------------

def generate(n, seed, data_dir):
    """n Specs, reproducibly from seed."""
    src = Sources(data_dir)
    # one generator per stream, so that a change in one (e.g. which machine
    # mail qualifies) leaves the others as they were
    rnd = random.Random("customer/%d" % seed)
    n_machine = max(1, round(n * MACHINE_SHARE)) if n >= 10 else 0
    kinds = ["machine"] * n_machine + ["customer"] * (n - n_machine)
    random.Random("kinds/%d" % seed).shuffle(kinds)
    machine = list(src.machine)
    random.Random("machine/%d" % seed).shuffle(machine)
    specs = []
    used_locals = set()
    n_used = 0
    for i, kind in enumerate(kinds):
        if kind == "machine":
            path, raw, env = machine[n_used % len(machine)]
            n_used += 1
            specs.append(Spec(i, "machine", "-", path, raw=raw, env_from=env))
            continue
        specs.append(_customer(i, rnd, src, used_locals))
    return specs


def _pick_share(rnd, shares):
    x = rnd.random()
    for name, share in shares:
        x -= share
        if x < 0:
            return name
    return shares[-1][0]


def _customer(i, rnd, src, used_locals):
    family = _pick_share(rnd, LANG_SHARE)
    lang = family.split("-")[0]
    thread = rnd.random() < THREAD_SHARE
    first, last = (rnd.choice(NAMES[lang][0]), rnd.choice(NAMES[lang][1]))
    company = rnd.choice(COMPANIES[lang])
    domain = "%s.example.%s" % (_slug(company), TLD[lang])
    local = _slug("%s.%s" % (first, last))
    base, k = local, 1
    while (local, domain) in used_locals:      # one sender, one mail
        k += 1
        local = "%s%d" % (base, k)
    used_locals.add((local, domain))
    name = "%s %s" % (first, last)
    nums = dict(n=rnd.randint(10000, 99999),
                c=rnd.randint(100000, 999999),
                k="%s-%06d" % (rnd.choice("ABCK"), rnd.randint(0, 999999)),
                p="+%d %d %04d %04d" % (rnd.choice((39, 44, 49, 33, 34, 351)),
                                         rnd.randint(2, 99),
                                         rnd.randint(0, 9999),
                                         rnd.randint(0, 9999)))

    own_frame = True            # greeting, closing and signature of ours
    if family == "it":
        path, subject, text = rnd.choice(src.italian)
        source = "italian-dev/" + os.path.basename(path)
        paras = [text]
        own_frame = False       # these mails have their own
    elif family == "en-bitext":
        intent = rnd.choice(sorted(src.bitext))
        utts = rnd.sample(src.bitext[intent],
                          min(len(src.bitext[intent]), rnd.randint(2, 4)))
        utts = [_sentence(u) for u in utts]
        subject = _subject_from(utts[0])
        paras = [" ".join(utts)]
        source = "bitext:" + intent
    elif family == "en-itservice":
        text = rnd.choice(src.itservice)
        words = text.split()
        subject = " ".join(words[:rnd.randint(3, 7)])
        paras = [_wrap(text)]
        source = "it-service"
    else:
        subject, text = rnd.choice(REQUESTS[lang])
        paras = [text.format(**nums)]
        source = "own-%s" % lang
    parts = []
    if own_frame:
        parts.append(rnd.choice(GREETINGS[lang]))
    parts.extend(paras)
    if own_frame or rnd.random() < 0.4:
        parts.append(rnd.choice(DETAILS[lang]).format(**nums))
    tail = []
    if own_frame:
        tail.append("%s\n%s\n%s\n%s" % (rnd.choice(CLOSINGS[lang]), name,
                                        company, nums["p"]))
    if rnd.random() < 0.5:
        tail.append("-- \n" + _wrap(DISCLAIMERS[lang]))

    # a quoted thread: colleagues at the customer's company discussed it
    # before one of them wrote to us
    quoted = []
    if thread:
        if not re.match(r"(?i)(re|r|aw|fwd?|i)\s*:", subject):
            subject = REPLY_PREFIX[lang] + subject
        target = math.exp(rnd.uniform(math.log(3000), math.log(MAX_SIZE)))
    else:
        target = 0
    to = rnd.choice(ADDRESSES if lang == "it" else ADDRESSES[:2])
    pre, mailer = _mta_headers(rnd, domain, i)
    pre_len = len(pre) + len(b"From: \r\nMessage-ID: \r\n") + len(
        _addr_header(name, "%s.r00c0x@%s" % (local, domain))) + len(
        "<R00C0X.00000.123456789012@%s>" % domain)
    charset = CHARSET[lang]
    style = rnd.random()
    t = BASE_DATE + i * 37

    def build():
        body = "\n\n".join(parts + tail)
        if quoted:
            body += "\n\n" + "\n".join(quoted)
        post = _post_headers(to, subject, t, mailer, lang, thread, domain, i)
        return post + _mime(body, charset, style, quoted)

    post = build()
    depth = 0
    while thread and pre_len + len(post) < target:
        # one more earlier message of the discussion, quoted one level
        # deeper each time
        depth += 1
        qlang = lang if rnd.random() < 0.7 else "en"
        qtext = _quote_text(rnd, src, qlang)
        who = "%s %s" % (rnd.choice(NAMES[lang][0]),
                         rnd.choice(NAMES[lang][1]))
        intro = QUOTE_INTRO[lang].format(
            d=email.utils.formatdate(t - depth * 5400), n=who,
            a="%s@%s" % (_slug(who), domain))
        quoted.append("> " * (depth - 1) + intro)
        quoted.extend(("> " * depth + l).rstrip()
                      for l in _wrap(qtext).split("\n"))
        quoted.append("> " * depth)
        post = build()
    while pre_len + len(post) > MAX_SIZE and quoted:
        del quoted[-12:]
        post = build()
    while pre_len + len(post) < MIN_SIZE:
        tail.append(_wrap(DISCLAIMERS[rnd.choice(sorted(DISCLAIMERS))]))
        post = build()
    return Spec(i, "customer", lang, source, thread=thread, name=name,
                local=local, domain=domain, to=to, pre_headers=pre,
                post_headers=post)


def _quote_text(rnd, src, lang):
    if lang == "it":
        return rnd.choice(src.italian)[2]
    if lang == "en":
        if rnd.random() < 0.6:
            return rnd.choice(src.ham)
        return " ".join(_sentence(u) for u in rnd.sample(
            src.bitext[rnd.choice(sorted(src.bitext))], 2))
    subject, text = rnd.choice(REQUESTS[lang])
    return "%s\n\n%s" % (rnd.choice(GREETINGS[lang]),
                         text.format(n=rnd.randint(10000, 99999)))


def _sentence(u):
    u = u.strip()
    u = u[:1].upper() + u[1:]
    return u if u[-1:] in ".?!" else u + "."


def _subject_from(u):
    words = re.sub(r"[?.!]+$", "", u).split()
    s = " ".join(words[:8])
    return s[:1].upper() + s[1:]


def _wrap(text, width=76):
    out = []
    for para in text.split("\n"):
        line = ""
        for w in para.split(" "):
            if line and len(line) + 1 + len(w) > width:
                out.append(line)
                line = w
            else:
                line = "%s %s" % (line, w) if line else w
        out.append(line)
    return "\n".join(out)


def _slug(s):
    import unicodedata
    s = unicodedata.normalize("NFKD", s.lower())
    s = "".join(c for c in s if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9.]+", "-", s).strip("-.")


def _b64ish(rnd, n):
    alphabet = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789+/")
    return "".join(rnd.choice(alphabet) for _ in range(n))


def _mta_headers(rnd, domain, i):
    """Trace and authentication headers as our MX would have received the
    mail: about 1-2 KB, as in real mail."""
    hops = rnd.randint(1, 3)
    ip = "198.51.100.%d" % rnd.randint(2, 254)
    when = email.utils.formatdate(BASE_DATE + i * 37 + 3)
    lines = ["Received: from mail.%s (mail.%s [%s])\r\n"
             "\tby mx.example.com (Postfix) with ESMTPS id %s\r\n"
             "\tfor <support@example.com>; %s"
             % (domain, domain, ip, _b64ish(rnd, 11).replace("+", "A")
                .replace("/", "B"), when)]
    for h in range(hops - 1):
        lines.append("Received: from [10.%d.%d.%d] (unknown [10.0.%d.%d])\r\n"
                     "\tby mail.%s (Postfix) with ESMTPSA id %s;\r\n\t%s"
                     % (rnd.randint(0, 255), rnd.randint(0, 255),
                        rnd.randint(1, 254), rnd.randint(0, 255),
                        rnd.randint(1, 254), domain,
                        _b64ish(rnd, 10).replace("/", "C"), when))
    lines.append("Authentication-Results: mx.example.com;\r\n"
                 "\tdkim=pass (2048-bit key) header.d=%s header.s=mail;\r\n"
                 "\tspf=pass smtp.mailfrom=%s;\r\n\tdmarc=pass header.from=%s"
                 % (domain, domain, domain))
    if rnd.random() < 0.8:
        b = _b64ish(rnd, 344)
        lines.append("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
                     "d=%s;\r\n\ts=mail; t=%d;\r\n"
                     "\th=From:To:Subject:Date:Message-ID:MIME-Version:"
                     "Content-Type;\r\n\tbh=%s=;\r\n\tb=%s"
                     % (domain, BASE_DATE + i * 37, _b64ish(rnd, 43),
                        "\r\n\t ".join(b[j:j + 70]
                                       for j in range(0, len(b), 70))))
    mailer = rnd.choice(MAILERS)
    if mailer and "Outlook" in mailer:
        # what Exchange Online adds to every mail
        lines.append("Thread-Topic: request\r\nThread-Index: %s"
                     % _b64ish(rnd, 40))
        for k, n in (("X-MS-Exchange-Organization-Network-Message-Id", 36),
                     ("X-MS-Exchange-CrossTenant-OriginalArrivalTime", 30),
                     ("X-MS-Exchange-CrossTenant-FromEntityHeader", 8),
                     ("X-MS-Exchange-CrossTenant-Id", 36),
                     ("X-MS-Exchange-Transport-CrossTenantHeadersStamped",
                      24),
                     ("X-MS-Office365-Filtering-Correlation-Id", 36),
                     ("X-Microsoft-Antispam", 60),
                     ("X-Microsoft-Antispam-Message-Info", 300),
                     ("X-Forefront-Antispam-Report", 280)):
            v = _b64ish(rnd, n)
            lines.append("%s: %s" % (k, "\r\n\t".join(
                v[j:j + 72] for j in range(0, len(v), 72))))
    elif rnd.random() < 0.5:
        # a forwarding provider's ARC set
        for k, n in (("ARC-Seal", 190), ("ARC-Message-Signature", 420)):
            v = _b64ish(rnd, n)
            lines.append("%s: i=1; a=rsa-sha256; d=%s; s=arc;\r\n\tb=%s"
                         % (k, domain, "\r\n\t ".join(
                             v[j:j + 70] for j in range(0, len(v), 70))))
        lines.append("ARC-Authentication-Results: i=1; mail.%s;\r\n"
                     "\tdkim=pass header.d=%s; spf=pass smtp.mailfrom=%s"
                     % (domain, domain, domain))
    return ("\r\n".join(lines) + "\r\n").encode("ascii"), mailer


def _post_headers(to, subject, t, mailer, lang, thread, domain, i):
    h = ["To: " + to,
         "Subject: " + (subject if subject.isascii() else
                        email.header.Header(subject, "utf-8").encode(
                            linesep="\r\n")),
         "Date: " + email.utils.formatdate(t, localtime=False)]
    if thread:
        ref = "<%s.thread%05d@%s>" % (hashlib.sha1(subject.encode())
                                      .hexdigest()[:10], i, domain)
        h += ["In-Reply-To: " + ref, "References: " + ref]
    if mailer:
        h.append(("User-Agent: " if "Thunderbird" in mailer or "K-9" in mailer
                  else "X-Mailer: ") + mailer)
    h.append("Content-Language: " + {"en": "en-GB", "it": "it-IT",
                                     "de": "de-DE", "fr": "fr-FR",
                                     "es": "es-ES", "pt": "pt-PT"}[lang])
    return ("\r\n".join(h) + "\r\n").encode("ascii")


def _mime(body, charset, style, quoted):
    """MIME-Version, the content headers and the encoded body."""
    try:
        body.encode(charset)
    except UnicodeEncodeError:
        charset = "utf-8"
    if style < 0.45:
        cte = "8bit"
    elif style < 0.72:
        cte = "quoted-printable"
    elif style < 0.80:
        cte = "base64"
    else:
        cte = None          # multipart/alternative
    if cte:
        return (b"MIME-Version: 1.0\r\n" +
                _part("plain", body, charset, cte) )
    boundary = "----=_Part_%s" % hashlib.sha1(body.encode()).hexdigest()[:16]
    paras = html.escape(body).split("\n\n")
    inner = "".join(
        "<blockquote>%s</blockquote>\n" % p.replace("\n", "<br>\n")
        if p.startswith("&gt;") else "<p>%s</p>\n" % p.replace("\n", "<br>\n")
        for p in paras)
    page = ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/"
            "html; charset=%s\"></head><body>\n%s</body></html>"
            % (charset, inner))
    return (b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/alternative; boundary=\"" +
            boundary.encode() + b"\"\r\n\r\n--" + boundary.encode() +
            b"\r\n" + _part("plain", body, charset, "quoted-printable") +
            b"\r\n--" + boundary.encode() + b"\r\n" +
            _part("html", page, charset, "quoted-printable") +
            b"\r\n--" + boundary.encode() + b"--\r\n")


def _part(subtype, text, charset, cte):
    data = text.encode(charset)
    if cte == "quoted-printable":
        import quopri
        enc = quopri.encodestring(data.replace(b"\n", b"\r\n"))
    elif cte == "base64":
        import base64
        enc = base64.encodebytes(data.replace(b"\n", b"\r\n"))
    else:
        enc = data
    enc = re.sub(rb"\r?\n", b"\r\n", enc)
    if cte == "8bit" and data.isascii():
        cte = "7bit"
    return (b"Content-Type: text/%s; charset=\"%s\"\r\n"
            b"Content-Transfer-Encoding: %s\r\n\r\n"
            % (subtype.encode(), charset.encode(), cte.encode()) +
            enc.rstrip(b"\r\n") + b"\r\n")


def describe(specs):
    """A one-paragraph summary of a generated set (for RESULTS.md)."""
    import collections
    sizes = []
    for s in specs:
        data, _, _ = render(s, "x")
        sizes.append(len(data))
    cust = [s for s in specs if s.kind == "customer"]
    langs = collections.Counter(s.lang for s in cust)
    fams = collections.Counter(s.source.split(":")[0].split("/")[0]
                               for s in cust)
    sizes.sort()
    return {
        "messages": len(specs),
        "customer": len(cust),
        "machine": len(specs) - len(cust),
        "threads": sum(1 for s in cust if s.thread),
        "languages": dict(sorted(langs.items(), key=lambda kv: -kv[1])),
        "sources": dict(sorted(fams.items(), key=lambda kv: -kv[1])),
        "size_min": sizes[0] if sizes else 0,
        "size_median": sizes[len(sizes) // 2] if sizes else 0,
        "size_max": sizes[-1] if sizes else 0,
        "customer_size_min": min((len(render(s, "x")[0]) for s in cust),
                                 default=0),
        "customer_size_max": max((len(render(s, "x")[0]) for s in cust),
                                 default=0),
    }
