"""The 20-product catalogue of the original system, loaded into a new products database once.

Prices are the original ones, in USD. Images are SVGs the shop serves itself
(shop/web/static/products/), so the catalogue looks right without network access.
"""

from __future__ import annotations

from typing import Any

from shop.services.products.models import ProductCreate

WARRANTY = "1-year limited manufacturer warranty. Free returns within 30 days of delivery."

_ITEMS: tuple[dict[str, Any], ...] = (
    {
        "name": "Laptop",
        "description": "A thin, all-day 14-inch laptop with a sharp 2.8K display, a quiet fanless design and a backlit keyboard for work on the move.",
        "price": 9998,
        "stock_quantity": 40,
        "category": "Computers",
        "brand": "Nimbus",
        "model": "Aero 14 Pro",
        "sku": "CMP-NIM-AERO14",
        "ratings": 4.6,
        "specifications": {
            "display": "14-inch 2880x1800 OLED",
            "processor": "8-core, 4.8 GHz",
            "memory": "16 GB",
            "storage": "1 TB SSD",
            "weight": "1.2 kg",
            "battery": "Up to 18 hours",
        },
        "reviews": [
            {
                "user": "Priya S.",
                "rating": 5,
                "comment": "Light enough to forget it is in my bag, and the screen is gorgeous.",
            },
            {"user": "Tom B.", "rating": 4, "comment": "Fast and silent. I would have liked one more USB-C port."},
        ],
    },
    {
        "name": "Smartphone",
        "description": "A flagship smartphone with a 6.5-inch 120 Hz display, a triple camera that shines at night, and a battery that lasts two days.",
        "price": 8999,
        "stock_quantity": 80,
        "category": "Phones",
        "brand": "Orbit",
        "model": "Orbit X12",
        "sku": "PHN-ORB-X12",
        "ratings": 4.5,
        "specifications": {
            "display": "6.5-inch AMOLED, 120 Hz",
            "storage": "256 GB",
            "camera": "50 MP + 12 MP ultra-wide + 10 MP tele",
            "battery": "5000 mAh",
            "network": "5G",
        },
        "reviews": [
            {
                "user": "Marco R.",
                "rating": 5,
                "comment": "Night photos look like daylight. Battery easily lasts a weekend.",
            },
        ],
    },
    {
        "name": "Tablet",
        "description": "An 11-inch tablet for reading, drawing and streaming, with stylus support and speakers tuned for films.",
        "price": 4599,
        "stock_quantity": 55,
        "category": "Tablets",
        "brand": "Slate",
        "model": "Slate 11 Air",
        "sku": "TAB-SLT-11AIR",
        "ratings": 4.4,
        "specifications": {
            "display": "11-inch 2560x1600 LCD",
            "storage": "128 GB",
            "stylus": "Supported (sold separately)",
            "battery": "Up to 12 hours",
            "weight": "480 g",
        },
        "reviews": [
            {
                "user": "Hannah K.",
                "rating": 4,
                "comment": "Great for sketching. The stylus should really be in the box.",
            },
            {"user": "Ben O.", "rating": 5, "comment": "My go-to device for reading on the couch."},
        ],
    },
    {
        "name": "Smartwatch",
        "description": "A smartwatch with an always-on display, heart-rate and blood-oxygen tracking, GPS and a week of battery.",
        "price": 1299,
        "stock_quantity": 70,
        "category": "Wearables",
        "brand": "Pulse",
        "model": "Pulse Watch 3",
        "sku": "WRB-PLS-WATCH3",
        "ratings": 4.3,
        "specifications": {
            "display": "1.4-inch AMOLED, always-on",
            "sensors": "Heart rate, SpO2, accelerometer",
            "gps": "Built-in",
            "water_resistance": "5 ATM",
            "battery": "Up to 7 days",
        },
        "reviews": [
            {"user": "Lena W.", "rating": 4, "comment": "Accurate on my runs, and I charge it once a week."},
        ],
    },
    {
        "name": "Wireless Earbuds",
        "description": "True wireless earbuds with active noise cancelling, a transparency mode and a pocket-sized charging case.",
        "price": 699,
        "stock_quantity": 100,
        "category": "Audio",
        "brand": "Sonique",
        "model": "Buds Pro 2",
        "sku": "AUD-SNQ-BUDSPRO2",
        "ratings": 4.2,
        "specifications": {
            "noise_cancelling": "Active (ANC)",
            "battery": "8 h (30 h with case)",
            "bluetooth": "5.3",
            "water_resistance": "IPX4",
            "charging": "USB-C and wireless",
        },
        "reviews": [
            {"user": "Sam P.", "rating": 4, "comment": "Noise cancelling is excellent on the train."},
            {"user": "Aisha M.", "rating": 4, "comment": "Comfortable fit, solid bass."},
        ],
    },
    {
        "name": "Gaming Laptop",
        "description": "A 17-inch gaming laptop with a 240 Hz screen, a high-end graphics card and a per-key RGB keyboard, cooled by a vapour chamber.",
        "price": 15999,
        "stock_quantity": 25,
        "category": "Computers",
        "brand": "Raptor",
        "model": "Raptor 17 RTX",
        "sku": "CMP-RPT-17RTX",
        "ratings": 4.7,
        "specifications": {
            "display": "17.3-inch QHD, 240 Hz",
            "processor": "16-core, 5.4 GHz",
            "graphics": "16 GB dedicated GPU",
            "memory": "32 GB",
            "storage": "2 TB SSD",
            "keyboard": "Per-key RGB",
        },
        "reviews": [
            {
                "user": "Kenji T.",
                "rating": 5,
                "comment": "Runs everything at max settings and stays surprisingly quiet.",
            },
        ],
    },
    {
        "name": "Mechanical Keyboard",
        "description": "A compact tenkeyless mechanical keyboard with hot-swappable tactile switches, PBT keycaps and white backlighting.",
        "price": 249,
        "stock_quantity": 90,
        "category": "Accessories",
        "brand": "Keystone",
        "model": "K87 TKL",
        "sku": "ACC-KEY-K87TKL",
        "ratings": 4.6,
        "specifications": {
            "layout": "Tenkeyless, 87 keys",
            "switches": "Tactile, hot-swappable",
            "keycaps": "Double-shot PBT",
            "connection": "USB-C, Bluetooth 5.1",
            "backlight": "White LED",
        },
        "reviews": [
            {"user": "Olivia G.", "rating": 5, "comment": "Typing on it is a joy. Swapping switches took a minute."},
        ],
    },
    {
        "name": "Wireless Mouse",
        "description": "An ergonomic wireless mouse with a silent click, a precise 4000 DPI sensor and months of battery on one AA cell.",
        "price": 99,
        "stock_quantity": 100,
        "category": "Accessories",
        "brand": "Glide",
        "model": "Glide M3",
        "sku": "ACC-GLD-M3",
        "ratings": 4.1,
        "specifications": {
            "sensor": "Optical, up to 4000 DPI",
            "buttons": "6",
            "connection": "2.4 GHz receiver, Bluetooth",
            "battery": "1 x AA, up to 12 months",
        },
        "reviews": [
            {"user": "Diego F.", "rating": 4, "comment": "Quiet clicks, fits my hand well."},
            {"user": "Ruth A.", "rating": 4, "comment": "Switches between my two computers with one button."},
        ],
    },
    {
        "name": "Monitor 27-inch",
        "description": "A 27-inch QHD IPS monitor with accurate colours, a 165 Hz refresh rate and a stand that tilts, swivels and rises.",
        "price": 3299,
        "stock_quantity": 45,
        "category": "Monitors",
        "brand": "Vista",
        "model": "Vista 27Q",
        "sku": "MON-VST-27Q",
        "ratings": 4.5,
        "specifications": {
            "size": "27 inches",
            "resolution": "2560x1440",
            "panel": "IPS",
            "refresh_rate": "165 Hz",
            "ports": "HDMI 2.0, DisplayPort 1.4, USB-C 65 W",
        },
        "reviews": [
            {
                "user": "Ines V.",
                "rating": 5,
                "comment": "Colours are spot on out of the box; one USB-C cable runs my laptop.",
            },
        ],
    },
    {
        "name": "External Hard Drive 2TB",
        "description": "A rugged 2 TB portable drive with USB-C, hardware encryption and drop protection for backups on the go.",
        "price": 899,
        "stock_quantity": 65,
        "category": "Storage",
        "brand": "Vault",
        "model": "Vault Portable 2TB",
        "sku": "STO-VLT-P2TB",
        "ratings": 4.2,
        "specifications": {
            "capacity": "2 TB",
            "interface": "USB-C 3.2 Gen 1",
            "encryption": "256-bit AES hardware",
            "drop_protection": "Up to 2 m",
            "weight": "210 g",
        },
        "reviews": [
            {"user": "Paul N.", "rating": 4, "comment": "Survived a fall off my desk. Backups are quick."},
        ],
    },
    {
        "name": "Smart TV 55-inch",
        "description": "A 55-inch 4K smart TV with HDR, a 120 Hz panel for sport and games, and every streaming app built in.",
        "price": 4999,
        "stock_quantity": 30,
        "category": "TV & Home Theater",
        "brand": "Lumen",
        "model": "Lumen 55 4K",
        "sku": "TV-LMN-55UHD",
        "ratings": 4.4,
        "specifications": {
            "size": "55 inches",
            "resolution": "3840x2160",
            "hdr": "HDR10+, Dolby Vision",
            "refresh_rate": "120 Hz",
            "ports": "4 x HDMI 2.1, 2 x USB",
        },
        "reviews": [
            {"user": "Grace L.", "rating": 4, "comment": "Bright, sharp picture. The remote is a little small."},
            {"user": "Omar H.", "rating": 5, "comment": "Football at 120 Hz is a treat."},
        ],
    },
    {
        "name": "Bluetooth Speaker",
        "description": "A waterproof Bluetooth speaker with 360-degree sound, deep bass and 20 hours of play on a charge.",
        "price": 299,
        "stock_quantity": 85,
        "category": "Audio",
        "brand": "Sonique",
        "model": "Boom Mini",
        "sku": "AUD-SNQ-BOOMMINI",
        "ratings": 4.3,
        "specifications": {
            "output": "20 W, 360-degree",
            "battery": "Up to 20 hours",
            "water_resistance": "IP67",
            "bluetooth": "5.3",
            "pairing": "Stereo pair with a second speaker",
        },
        "reviews": [
            {"user": "Julia C.", "rating": 4, "comment": "Loud for its size and it floats in the pool."},
        ],
    },
    {
        "name": "Gaming Console",
        "description": "A next-generation games console with 4K gaming at up to 120 frames per second, a 1 TB SSD and a wireless controller.",
        "price": 4999,
        "stock_quantity": 35,
        "category": "Gaming",
        "brand": "Arcadia",
        "model": "Arcadia One",
        "sku": "GAM-ARC-ONE",
        "ratings": 4.8,
        "specifications": {
            "resolution": "Up to 4K, 120 fps",
            "storage": "1 TB SSD",
            "controller": "Wireless, haptic feedback",
            "media": "4K Blu-ray drive",
            "network": "Wi-Fi 6, Gigabit Ethernet",
        },
        "reviews": [
            {"user": "Lucas D.", "rating": 5, "comment": "Loading screens are basically gone."},
            {"user": "Mia E.", "rating": 5, "comment": "The controller's haptics are something else."},
        ],
    },
    {
        "name": "Action Camera",
        "description": "A waterproof 5K action camera with horizon levelling and stabilisation that makes bike rides look like a drone shot.",
        "price": 1399,
        "stock_quantity": 50,
        "category": "Cameras",
        "brand": "Trekker",
        "model": "Trekker 5K",
        "sku": "CAM-TRK-5K",
        "ratings": 4.4,
        "specifications": {
            "video": "5.3K at 60 fps, 4K at 120 fps",
            "photo": "27 MP",
            "stabilisation": "Electronic, horizon levelling",
            "water_resistance": "10 m without housing",
            "screens": "Front and rear",
        },
        "reviews": [
            {"user": "Noah J.", "rating": 4, "comment": "Footage from my mountain-bike trail is buttery smooth."},
        ],
    },
    {
        "name": "Fitness Band",
        "description": "A slim fitness band that tracks steps, sleep and heart rate, with smartphone notifications and two weeks of battery.",
        "price": 599,
        "stock_quantity": 95,
        "category": "Wearables",
        "brand": "Pulse",
        "model": "Pulse Band 2",
        "sku": "WRB-PLS-BAND2",
        "ratings": 4.0,
        "specifications": {
            "display": "1.1-inch AMOLED",
            "sensors": "Heart rate, accelerometer",
            "water_resistance": "5 ATM",
            "battery": "Up to 14 days",
        },
        "reviews": [
            {
                "user": "Chloe T.",
                "rating": 4,
                "comment": "Sleep tracking taught me a lot. Barely notice I am wearing it.",
            },
        ],
    },
    {
        "name": "Drone",
        "description": "A foldable camera drone with a 4K gimbal camera, 34 minutes of flight and obstacle sensing in every direction.",
        "price": 8999,
        "stock_quantity": 25,
        "category": "Cameras",
        "brand": "SkyLark",
        "model": "SkyLark Air 4",
        "sku": "CAM-SKL-AIR4",
        "ratings": 4.6,
        "specifications": {
            "camera": "4K/60 fps on a 3-axis gimbal",
            "flight_time": "34 minutes",
            "range": "10 km video transmission",
            "sensing": "Omnidirectional obstacle sensing",
            "weight": "570 g",
        },
        "reviews": [
            {"user": "Ethan Q.", "rating": 5, "comment": "Steady as a rock in wind; the footage is stunning."},
            {"user": "Sofia Y.", "rating": 4, "comment": "Easy first drone, but buy the extra batteries."},
        ],
    },
    {
        "name": "Projector",
        "description": "A full-HD home cinema projector with 3000 lumens, a 120-inch picture and built-in speakers for movie nights.",
        "price": 2999,
        "stock_quantity": 30,
        "category": "TV & Home Theater",
        "brand": "Lumen",
        "model": "Lumen Cine 1080",
        "sku": "TV-LMN-CINE1080",
        "ratings": 4.1,
        "specifications": {
            "resolution": "1920x1080",
            "brightness": "3000 ANSI lumens",
            "image_size": "40 to 120 inches",
            "lamp_life": "Up to 20,000 hours (LED)",
            "speakers": "2 x 5 W",
        },
        "reviews": [
            {"user": "Zoe I.", "rating": 4, "comment": "The whole family fits in front of the wall now."},
        ],
    },
    {
        "name": "VR Headset",
        "description": "A standalone virtual-reality headset with high-resolution lenses, inside-out tracking and two motion controllers.",
        "price": 2499,
        "stock_quantity": 40,
        "category": "Gaming",
        "brand": "Arcadia",
        "model": "Arcadia VR",
        "sku": "GAM-ARC-VR",
        "ratings": 4.3,
        "specifications": {
            "display": "2064x2208 per eye",
            "refresh_rate": "Up to 120 Hz",
            "tracking": "Inside-out, 6 degrees of freedom",
            "storage": "128 GB",
            "controllers": "2, with haptics",
        },
        "reviews": [
            {"user": "Liam Z.", "rating": 4, "comment": "No cables and no base stations; set up in five minutes."},
        ],
    },
    {
        "name": "E-Book Reader",
        "description": "A glare-free 7-inch e-ink reader with an adjustable warm light, waterproofing and weeks of battery.",
        "price": 1199,
        "stock_quantity": 60,
        "category": "Tablets",
        "brand": "Folio",
        "model": "Folio Paper 7",
        "sku": "TAB-FOL-PAPER7",
        "ratings": 4.7,
        "specifications": {
            "display": "7-inch e-ink, 300 ppi",
            "light": "Adjustable warm light",
            "storage": "16 GB",
            "water_resistance": "IPX8",
            "battery": "Up to 10 weeks",
        },
        "reviews": [
            {"user": "Emma F.", "rating": 5, "comment": "Reads like paper, even in full sun."},
            {"user": "Raj P.", "rating": 5, "comment": "I read in the bath without worrying now."},
        ],
    },
    {
        "name": "Portable Charger",
        "description": "A 20,000 mAh power bank with 30 W fast charging over USB-C, enough to charge a phone four times.",
        "price": 149,
        "stock_quantity": 100,
        "category": "Accessories",
        "brand": "Volt",
        "model": "Volt 20K",
        "sku": "ACC-VLT-20K",
        "ratings": 4.2,
        "specifications": {
            "capacity": "20,000 mAh",
            "output": "30 W USB-C PD, 18 W USB-A",
            "ports": "1 x USB-C, 2 x USB-A",
            "recharge": "3.5 hours at 30 W",
            "weight": "350 g",
        },
        "reviews": [
            {"user": "Nina R.", "rating": 4, "comment": "Kept my phone and earbuds alive for a whole festival."},
        ],
    },
)


def _image(name: str) -> str:
    return f"/static/products/{name.lower().replace(' ', '-').replace('e-book', 'ebook')}.svg"


def catalogue() -> list[ProductCreate]:
    """The starting products, validated like any product an administrator creates."""
    return [
        ProductCreate.model_validate(
            {"currency": "USD", "additional_info": WARRANTY, "images": [_image(item["name"])], **item}
        )
        for item in _ITEMS
    ]
